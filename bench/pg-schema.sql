-- pg-schema.sql — the PostGIS baseline's tables (bench/pg-baseline.sh).
-- The generated JSON lines (koble-gen) are copied verbatim into raw(j) and
-- turned into typed rows here, so PostgreSQL gets exactly the volunteers and
-- needs kobled and Redis get. Distances are in metres on the sphere
-- (use_spheroid false), as kobled's are on the sphere.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE vols (
    id text PRIMARY KEY,
    loc geography(Point, 4326) NOT NULL,
    max_m float8 NOT NULL,       -- the volunteer's own max_distance_km, metres
    skills text[] NOT NULL,
    langs text[] NOT NULL,
    birth_year int,
    avail text[] NOT NULL,
    capacity int NOT NULL,
    load int NOT NULL DEFAULT 0, -- accepted matches; none in generated data
    exp text[] NOT NULL,
    cert_until date,
    active bool NOT NULL
);

CREATE TABLE needs (
    town int NOT NULL,           -- 1, 2, 3: the order of --towns
    n int NOT NULL,              -- koble-gen's n-<n>
    loc geography(Point, 4326) NOT NULL,
    max_m float8 NOT NULL,
    req text[] NOT NULL,
    want text[] NOT NULL,
    langs text[] NOT NULL,
    person_age int NOT NULL,
    gap_min int,                 -- NULL: no age_gap
    gap_max int,
    avail text[] NOT NULL,
    exp text[] NOT NULL,
    PRIMARY KEY (town, n)
);

-- JSON array to text[] ('{}' for a missing list).
CREATE FUNCTION kb_list(j jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT coalesce(array(SELECT jsonb_array_elements_text(j)), '{}') $$;

-- |a ∩ b| for the soft components (shares of wanted skills, slots, experience).
CREATE FUNCTION kb_common(a text[], b text[]) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT count(*)::int FROM unnest(a) x WHERE x = ANY (b) $$;

CREATE UNLOGGED TABLE raw (j jsonb);
