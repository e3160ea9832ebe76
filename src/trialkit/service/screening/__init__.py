"""The screening slice: patients, screening records, eligibility, consent."""
