"""Neural-network modules whose attribute names equal the upstream checkpoint keys."""
