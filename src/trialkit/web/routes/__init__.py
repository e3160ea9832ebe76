"""The page routers, one per area: log-in, home, patients, monitoring, design, administration."""
