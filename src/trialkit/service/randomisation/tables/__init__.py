"""The randomisation slice's tables: allocation and randomisation, kits and supply."""
