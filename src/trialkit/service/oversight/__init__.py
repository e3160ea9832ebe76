"""The oversight slice: monitoring, exports, trial report, forecast, simulation
runs."""
