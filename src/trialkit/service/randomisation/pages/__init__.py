"""Pages of the randomisation slice: randomise, pharmacy."""
