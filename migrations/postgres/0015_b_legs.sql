-- FreeSWITCH with legs="ab" (issue 15): the b-leg an a-leg names, kept on the a-leg's call, so a
-- b-leg imported in another run than its a-leg (a file rotated between them) is found and
-- removed whichever comes first. Set on few rows: the partial index stays small.
ALTER TABLE calls ADD COLUMN b_leg_uuid TEXT;
CREATE INDEX calls_b_leg ON calls (b_leg_uuid) WHERE b_leg_uuid IS NOT NULL;
