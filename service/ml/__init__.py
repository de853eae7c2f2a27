"""The service's side of the classifier: holding the current model and scoring off the event loop."""
