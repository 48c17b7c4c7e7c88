"""The drug assistant: name resolution, drug cards, cited interaction checks."""
