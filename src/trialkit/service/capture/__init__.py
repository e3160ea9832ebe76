"""The capture slice: forms, records, queries, edit checks, visits, patient status,
and the endpoints derived from the records (outcomes, a patient's PFS)."""
