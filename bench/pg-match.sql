-- pg-match.sql — one match query, the pgbench script of bench/pg-baseline.sh
-- (pgbench -D town=K -D needs=Q). What a PostGIS team would write for
-- DESIGN.md "Matching": the same hard constraints as kobled (active, free
-- capacity, every required skill, a shared language, within both radii, a
-- shared slot, a valid child certificate for a person under 15), the same
-- six components with the default weights 3, 2, 2, 1, 1, 1, the same order
-- (score, distance, id), top 10. ST_DWithin on geography uses the GiST index.
\set n random(1, :needs)
SELECT m.id, m.score, m.d
FROM needs nd,
LATERAL (
    SELECT v.id, dd.d,
           (3 * CASE WHEN cardinality(nd.want) = 0 THEN 1
                     ELSE kb_common(nd.want, v.skills)::float8 / cardinality(nd.want) END
          + 2 * greatest(0, 1 - dd.d / nd.max_m)
          + 2 * CASE WHEN cardinality(nd.avail) = 0 OR cardinality(v.avail) = 0 THEN 1
                     ELSE kb_common(nd.avail, v.avail)::float8 / cardinality(nd.avail) END
          + 1 * CASE WHEN nd.gap_min IS NULL OR v.birth_year IS NULL THEN 1
                     ELSE greatest(0, 1 - greatest(nd.gap_min - g.gap, g.gap - nd.gap_max, 0)
                                          / 10.0) END
          + 1 * CASE WHEN cardinality(nd.exp) = 0 THEN 1
                     ELSE kb_common(nd.exp, v.exp)::float8 / cardinality(nd.exp) END
          + 1 * (1 - v.load::float8 / v.capacity)) / 10 AS score
    FROM vols v,
         LATERAL (SELECT ST_Distance(v.loc, nd.loc, false) AS d) dd,
         LATERAL (SELECT extract(year FROM current_date)::int - v.birth_year
                         - nd.person_age AS gap) g
    WHERE ST_DWithin(v.loc, nd.loc, nd.max_m, false)
      AND dd.d <= v.max_m
      AND v.active AND v.load < v.capacity
      AND v.skills @> nd.req
      AND (cardinality(nd.langs) = 0 OR v.langs && nd.langs)
      AND (cardinality(nd.avail) = 0 OR cardinality(v.avail) = 0 OR v.avail && nd.avail)
      AND (nd.person_age >= 15 OR v.cert_until >= current_date)
    ORDER BY score DESC, dd.d, v.id
    LIMIT 10) m
WHERE nd.town = :town AND nd.n = :n;
