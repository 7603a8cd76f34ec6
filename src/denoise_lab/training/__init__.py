"""Training: the LightningModule, its losses and callbacks, the loggers, and the run that ties them together."""
