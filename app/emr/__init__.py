"""EMR integration: CDS Hooks 2.0 services and the SMART-on-FHIR side panel."""
