-- SPEC §9: admin events record what they changed, `{field: [before, after]}` as JSON (never a secret).
ALTER TABLE audit_events ADD COLUMN changes TEXT;
