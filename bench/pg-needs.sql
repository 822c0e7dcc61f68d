-- pg-needs.sql — typed needs of town :town from raw (psql -v town=K).
INSERT INTO needs
SELECT :town, substr(j->>'id', 3)::int,
       ST_SetSRID(ST_MakePoint((b->'location'->>'lon')::float8,
                               (b->'location'->>'lat')::float8), 4326)::geography,
       (b->>'max_distance_km')::float8 * 1000,
       kb_list(b->'skills_required'), kb_list(b->'skills_wanted'), kb_list(b->'languages'),
       (b->>'person_age')::int, (b->'age_gap'->>'min')::int, (b->'age_gap'->>'max')::int,
       kb_list(b->'availability'), kb_list(b->'experience_wanted')
FROM raw, LATERAL (SELECT j->'body' AS b) x
WHERE j->>'type' = 'need';
TRUNCATE raw;
