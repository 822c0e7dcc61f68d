/* geo.c — see geo.h. */
#include "geo.h"

#include <math.h>

#define DEG (M_PI / 180.0)

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

double kb_geo_box_min_km(const kb_point_t *p, double lat0, double lat1, double lon0, double lon1) {
    double lat = p->lat < lat0 ? lat0 : (p->lat > lat1 ? lat1 : p->lat);
    /* Longitude: nearest edge going either way round the antimeridian. */
    double lon = p->lon;
    double w0 = remainder(lon0 - p->lon, 360.0), w1 = remainder(lon1 - p->lon, 360.0);
    if (!(w0 <= 0 && w1 >= 0)) lon = fabs(w0) < fabs(w1) ? lon0 : lon1;
    if (lat == p->lat && lon == p->lon) return 0.0;
    kb_point_t q;
    kb_point_set(&q, lat, lon);
    /* The point with p's latitude on the nearest meridian is not exactly
     * the nearest point of the box (great circles bend poleward), but it
     * is within a fraction of a percent for boxes of a few km; shave the
     * bound so it stays a bound. */
    double d = kb_geo_distance_km(p, &q) * 0.99 - 0.01;
    return d > 0 ? d : 0;
}
