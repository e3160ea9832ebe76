"""Pages of the capture slice: the patient page and its clinical forms."""
