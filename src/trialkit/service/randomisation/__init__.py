"""The randomisation slice: randomise, allocation and kit lists, trial supply,
dispensing, unblinding."""
