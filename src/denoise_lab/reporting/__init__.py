"""Tables and figures written into run directories."""
