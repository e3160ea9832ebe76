"""Pages of the oversight slice: monitor, forecast, reports, design."""
