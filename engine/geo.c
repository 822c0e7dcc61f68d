/* geo.c — see geo.h. */
#include "geo.h"

#include <math.h>

#define DEG        (M_PI / 180.0)
#define KM_PER_DEG (KB_EARTH_RADIUS_KM * DEG) /* along a meridian */

void kb_point_set(kb_point_t *p, double lat, double lon) {
    p->lat = lat;
    p->lon = lon;
    double cl = cos(lat * DEG);
    p->x = cl * cos(lon * DEG);
    p->y = cl * sin(lon * DEG);
    p->z = sin(lat * DEG);
}

double kb_geo_chord2_of_km(double km) {
    double half = km / (2.0 * KB_EARTH_RADIUS_KM);
    if (half >= M_PI / 2) return 4.0;
    double c = 2.0 * sin(half);
    return c * c;
}

double kb_geo_km_of_chord2(double chord2) {
    double half = sqrt(chord2) / 2.0;
    return 2.0 * KB_EARTH_RADIUS_KM * asin(half > 1.0 ? 1.0 : half);
}

double kb_geo_distance_km(const kb_point_t *a, const kb_point_t *b) {
    return kb_geo_km_of_chord2(kb_geo_chord2(a, b));
}

double kb_geo_km_per_deg_lon(double lat) { return KM_PER_DEG * cos(lat * DEG); }

double kb_geo_lat_gap_km(const kb_point_t *p, double lat0, double lat1) {
    double dlat = p->lat < lat0 ? lat0 - p->lat : (p->lat > lat1 ? p->lat - lat1 : 0);
    return dlat * KM_PER_DEG;
}

double kb_geo_lon_gap_km(const kb_point_t *p, double km_per_deg_lon, double lon0, double lon1) {
    if (p->lon >= lon0 && p->lon <= lon1) return 0;
    /* Degrees to the nearer edge, either way round the antimeridian. */
    double east = lon0 - p->lon, west = p->lon - lon1;
    if (east < 0) east += 360.0;
    if (west < 0) west += 360.0;
    return fmax(0.0, fmin(east, west)) * km_per_deg_lon; /* < 0: inside a box that wraps */
}

/* By the haversine formula, hav(d) = hav(dlat) + cos(lat1) cos(lat2)
 * hav(dlon) >= hav(dlat) + cos^2(lat_far) hav(dlon) for lat_far at least as
 * far from the equator as both points; so the flat distance with longitude
 * scaled by cos(lat_far) bounds d from below, up to the curvature of sin,
 * under 0.1% within 500 km. Shaving 2% keeps it a bound, and there is no
 * trigonometry per box: the search computes km_per_deg_lon once. The
 * flat distance and the shaving are kb_geo_gap_lb (geo.h). */
double kb_geo_box_lb(const kb_point_t *p, double km_per_deg_lon, double lat0, double lat1,
                     double lon0, double lon1) {
    return kb_geo_gap_lb(kb_geo_lat_gap_km(p, lat0, lat1),
                         kb_geo_lon_gap_km(p, km_per_deg_lon, lon0, lon1));
}
