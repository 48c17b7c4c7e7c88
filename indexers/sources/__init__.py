"""One reader per source format; each yields Documents (or Rejected records) from a path."""
