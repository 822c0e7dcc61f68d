/* geo.h — points on the sphere and distances between them.
 *
 * A location is kept both as lat/lon (for output and the grid) and as a
 * unit vector: the great-circle distance is then 2R asin(|a - b| / 2), and
 * "within d km" is a comparison of the squared chord with a precomputed
 * threshold — three multiplications, no trigonometry per candidate. */
#ifndef KB_GEO_H
#define KB_GEO_H

#include <math.h>

#define KB_EARTH_RADIUS_KM 6371.0088

typedef struct kb_point {
    double lat, lon; /* degrees */
    double x, y, z;  /* unit vector */
} kb_point_t;

void kb_point_set(kb_point_t *p, double lat, double lon);
/* Squared chord between two unit vectors. */
static inline double kb_geo_chord2(const kb_point_t *a, const kb_point_t *b) {
    double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
    return dx * dx + dy * dy + dz * dz;
}
/* Squared chord of a great-circle distance of km (for range tests). */
double kb_geo_chord2_of_km(double km);
double kb_geo_km_of_chord2(double chord2);
double kb_geo_distance_km(const kb_point_t *a, const kb_point_t *b);
/* Km per degree of longitude at latitude lat (degrees). */
double kb_geo_km_per_deg_lon(double lat);
/* A lower bound of the distance from p to any point of the lat/lon box,
 * where km_per_deg_lon is kb_geo_km_per_deg_lon() of a latitude at least
 * as far from the equator as p and every point of the box. */
double kb_geo_box_lb(const kb_point_t *p, double km_per_deg_lon, double lat0, double lat1,
                     double lon0, double lon1);
/* The two halves of kb_geo_box_lb, for a caller that bounds a grid of
 * boxes (index.c): the gap in km from p to the band of latitudes
 * [lat0, lat1] and to that of longitudes [lon0, lon1] (either way round;
 * 0 inside), and the bound from the two. */
double kb_geo_lat_gap_km(const kb_point_t *p, double lat0, double lat1);
double kb_geo_lon_gap_km(const kb_point_t *p, double km_per_deg_lon, double lon0, double lon1);
static inline double kb_geo_gap_lb(double dy_km, double dx_km) {
    double d = sqrt(dx_km * dx_km + dy_km * dy_km) * 0.98 - 0.01;
    return d > 0 ? d : 0;
}

#endif
