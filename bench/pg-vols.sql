-- pg-vols.sql — typed volunteers from raw (see pg-schema.sql), then the GiST index.
INSERT INTO vols
SELECT j->>'id',
       ST_SetSRID(ST_MakePoint((b->'location'->>'lon')::float8,
                               (b->'location'->>'lat')::float8), 4326)::geography,
       coalesce((b->>'max_distance_km')::float8, 10) * 1000,
       kb_list(b->'skills'), kb_list(b->'languages'), (b->>'birth_year')::int,
       kb_list(b->'availability'), coalesce((b->>'capacity')::int, 1), 0,
       kb_list(b->'experience'), (b->>'child_certificate_until')::date,
       coalesce((b->>'active')::bool, true)
FROM raw, LATERAL (SELECT j->'body' AS b) x
WHERE j->>'type' = 'volunteer';
TRUNCATE raw;
CREATE INDEX vols_loc ON vols USING gist (loc);
VACUUM ANALYZE vols;
