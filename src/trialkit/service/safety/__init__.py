"""The safety slice: serious adverse events on the clock, their review and SUSAR unblinding."""
