/*
 * plot_util.c — canvas, text, axes, legend and palette for the charts
 * (plot_util.h).
 *
 * Why this file exists: it keeps every chart's look consistent (DejaVu Sans,
 * Okabe–Ito colours, light grid, round tick values) and hides how each
 * output format is produced: PNG from an image surface, PDF from Cairo's
 * PDF surface, SVG from Cairo's SVG surface for shapes plus hand-written
 * <text> elements so the text stays text. Files are written to a temporary
 * name and renamed, so a reader never sees half a chart.
 */
#include "report/plot_util.h"
#include "util/atomic_file.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>

#define FONT "DejaVu Sans"
#define PI 3.14159265358979323846

const bb_rgb BB_BLACK = {0, 0, 0};
const bb_rgb BB_GREY = {0.35, 0.35, 0.35};
const bb_rgb BB_GRID = {0.88, 0.88, 0.88};
const bb_rgb BB_DARK = {0.2, 0.2, 0.2};

/* ---- canvas ------------------------------------------------------------------ */

static cairo_status_t to_stream(void *closure, const unsigned char *data, unsigned int len)
{
    return fwrite(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static cairo_surface_t *make_surface(bb_canvas *cv)
{
    if (cv->format == BB_FMT_PNG)
        return cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)cv->w, (int)cv->h);
    cv->stream = open_memstream(&cv->bytes, &cv->n_bytes);
    if (!cv->stream)
        return NULL;
    if (cv->format == BB_FMT_PDF)
        return cairo_pdf_surface_create_for_stream(to_stream, cv->stream, cv->w, cv->h);
    cv->text_stream = open_memstream(&cv->text, &cv->n_text);
    if (!cv->text_stream)
        return NULL;
    return cairo_svg_surface_create_for_stream(to_stream, cv->stream, cv->w, cv->h);
}

int bb_canvas_open(bb_canvas *cv, int format, double w, double h, bb_err *err)
{
    memset(cv, 0, sizeof *cv);
    cv->format = format, cv->w = w, cv->h = h;
    cv->surface = make_surface(cv);
    if (!cv->surface || cairo_surface_status(cv->surface) != CAIRO_STATUS_SUCCESS) {
        bb_canvas_discard(cv);
        return bb_err_oom(err, "cannot create a %gx%g drawing surface (out of memory)", w, h);
    }
    cv->cr = cairo_create(cv->surface);
    cairo_set_source_rgb(cv->cr, 1, 1, 1);
    cairo_paint(cv->cr);
    cairo_set_line_join(cv->cr, CAIRO_LINE_JOIN_ROUND);
    return 0;
}

void bb_canvas_discard(bb_canvas *cv)
{
    if (cv->cr)
        cairo_destroy(cv->cr);
    if (cv->surface) {
        cairo_surface_finish(cv->surface);
        cairo_surface_destroy(cv->surface);
    }
    if (cv->stream)
        fclose(cv->stream);
    if (cv->text_stream)
        fclose(cv->text_stream);
    free(cv->bytes);
    free(cv->text);
    memset(cv, 0, sizeof *cv);
}

/* Cairo's SVG document with the <text> elements inserted before its
 * closing "</svg>", into a malloc'd buffer. */
static int svg_with_text(bb_canvas *cv, char **out, size_t *len)
{
    if (fclose(cv->text_stream) != 0)
        return cv->text_stream = NULL, -1;
    cv->text_stream = NULL;
    const char *end = NULL;
    for (const char *p = cv->bytes; (p = strstr(p, "</svg>")) != NULL; p++)
        end = p;
    if (!end)
        return -1;
    size_t head = (size_t)(end - cv->bytes), tail = cv->n_bytes - head;
    *len = head + cv->n_text + tail;
    if (!(*out = malloc(*len)))
        return -1;
    memcpy(*out, cv->bytes, head);
    memcpy(*out + head, cv->text, cv->n_text);
    memcpy(*out + head + cv->n_text, end, tail);
    return 0;
}

/* The finished file's bytes into a malloc'd buffer. */
static int canvas_bytes(bb_canvas *cv, char **out, size_t *len)
{
    cairo_status_t st = cairo_status(cv->cr);
    cairo_destroy(cv->cr), cv->cr = NULL;
    if (cv->format == BB_FMT_PNG) {
        cv->stream = open_memstream(&cv->bytes, &cv->n_bytes);
        if (!cv->stream)
            return -1;
        if (st == CAIRO_STATUS_SUCCESS)
            st = cairo_surface_write_to_png_stream(cv->surface, to_stream, cv->stream);
    }
    cairo_surface_finish(cv->surface);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(cv->surface);
    int closed = fclose(cv->stream);
    cv->stream = NULL;
    if (closed != 0 || st != CAIRO_STATUS_SUCCESS)
        return -1;
    if (cv->format == BB_FMT_SVG)
        return svg_with_text(cv, out, len);
    *out = cv->bytes, *len = cv->n_bytes, cv->bytes = NULL;
    return 0;
}

int bb_canvas_save(bb_canvas *cv, const char *path, bb_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = canvas_bytes(cv, &data, &len);
    if (rc != 0)
        bb_err_set(err, "%s: drawing failed (out of memory or a Cairo error)", path);
    else
        rc = bb_write_atomic(path, data, len, "chart", err);
    free(data);
    bb_canvas_discard(cv);
    return rc;
}

void bb_plot_release(void)
{
    cairo_debug_reset_static_data(); /* drops Cairo's references to fontconfig patterns */
    FcFini();
}

/* ---- text --------------------------------------------------------------------- */

bb_text_style bb_style(double size, int bold, int align, double angle, bb_rgb color)
{
    bb_text_style s = {size, bold, align, angle, color};
    return s;
}

static void set_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double bb_text_width(bb_canvas *cv, const char *s, double size, int bold)
{
    cairo_text_extents_t e;
    cairo_save(cv->cr);
    set_font(cv->cr, size, bold);
    cairo_text_extents(cv->cr, s, &e);
    cairo_restore(cv->cr);
    return e.x_advance;
}

static void svg_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else
            fputc(*s, f);
    }
}

static void svg_text(bb_canvas *cv, double x, double y, const char *s, const bb_text_style *st)
{
    FILE *f = cv->text_stream;
    const char *anchor = st->align == BB_LEFT ? "start" : st->align == BB_RIGHT ? "end" : "middle";
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"%.1f\"", x, y,
            st->size);
    fprintf(f, " fill=\"rgb(%d,%d,%d)\" text-anchor=\"%s\"", (int)lround(st->color.r * 255),
            (int)lround(st->color.g * 255), (int)lround(st->color.b * 255), anchor);
    if (st->bold)
        fputs(" font-weight=\"bold\"", f);
    if (st->angle != 0)
        fprintf(f, " transform=\"rotate(%g %.2f %.2f)\"", st->angle, x, y);
    fputc('>', f);
    svg_escaped(f, s);
    fputs("</text>\n", f);
}

void bb_text(bb_canvas *cv, double x, double y, const char *s, const bb_text_style *st)
{
    if (cv->format == BB_FMT_SVG) {
        svg_text(cv, x, y, s, st);
        return;
    }
    cairo_t *cr = cv->cr;
    double w = bb_text_width(cv, s, st->size, st->bold);
    cairo_save(cr);
    set_font(cr, st->size, st->bold);
    cairo_set_source_rgb(cr, st->color.r, st->color.g, st->color.b);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, st->angle * PI / 180.0);
    cairo_move_to(cr, -w * (st->align + 1) / 2.0, 0);
    cairo_show_text(cr, s);
    cairo_restore(cr);
}

/* ---- colours, lines, markers --------------------------------------------------- */

bb_rgb bb_palette(int i)
{
    /* Okabe & Ito (2008), ordered so neighbours contrast; yellow late. */
    static const unsigned hex[] = {0x0072B2, 0xE69F00, 0x009E73, 0xD55E00, 0x56B4E9, 0xCC79A7, 0xF0E442, 0x000000};
    unsigned v = hex[(i % 8 + 8) % 8];
    bb_rgb c = {((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0};
    return c;
}

int bb_marker_of(int series)
{
    return (series + series / 8) % 4;
}

int bb_dashed_of(int series)
{
    return series >= 8;
}

void bb_line(bb_canvas *cv, double x0, double y0, double x1, double y1, double width, bb_rgb c, int dashed)
{
    static const double dash[] = {7, 4};
    cairo_t *cr = cv->cr;
    cairo_save(cr);
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_set_line_width(cr, width);
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
    cairo_restore(cr);
}

void bb_rect_fill(bb_canvas *cv, double x, double y, double w, double h, bb_rgb fill, int outline)
{
    cairo_t *cr = cv->cr;
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgb(cr, fill.r, fill.g, fill.b);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, BB_DARK.r, BB_DARK.g, BB_DARK.b);
    cairo_set_line_width(cr, outline ? 0.8 : 0);
    if (outline)
        cairo_stroke(cr);
    cairo_new_path(cr);
    cairo_restore(cr);
}

void bb_marker(bb_canvas *cv, double x, double y, int shape, double size, bb_rgb c)
{
    cairo_t *cr = cv->cr;
    double r = size / 2;
    cairo_save(cr);
    cairo_new_path(cr);
    if (shape == 0)
        cairo_arc(cr, x, y, r, 0, 2 * PI);
    else if (shape == 1)
        cairo_rectangle(cr, x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8);
    else if (shape == 2) {
        cairo_move_to(cr, x, y - r * 1.15);
        cairo_line_to(cr, x + r * 1.1, y + r * 0.8);
        cairo_line_to(cr, x - r * 1.1, y + r * 0.8);
        cairo_close_path(cr);
    } else {
        cairo_move_to(cr, x, y - r * 1.25);
        cairo_line_to(cr, x + r * 1.05, y);
        cairo_line_to(cr, x, y + r * 1.25);
        cairo_line_to(cr, x - r * 1.05, y);
        cairo_close_path(cr);
    }
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, BB_DARK.r, BB_DARK.g, BB_DARK.b);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* ---- axes ----------------------------------------------------------------------- */

static double tr(const bb_axis *a, double v)
{
    return a->log ? log(v) / log(a->log) : v;
}

double bb_axis_px(const bb_axis *a, double v)
{
    double lo = tr(a, a->lo), hi = tr(a, a->hi);
    return a->p0 + (tr(a, v) - lo) / (hi - lo) * (a->p1 - a->p0);
}

/* A round step near raw: 1, 2, 2.5 or 5 times a power of ten. */
static double nice_step(double raw)
{
    double p = pow(10, floor(log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

void bb_axis_fit(bb_axis *a, double lo, double hi, int log_base)
{
    a->log = log_base;
    if (!(hi > lo)) /* one value, or none: a small range around it */
        hi = lo > 0 ? lo * 2 : lo + 1, lo = log_base ? hi / 4 : lo;
    if (log_base) {
        double pad = pow(hi / lo, 0.06) * 1.08;
        a->lo = lo / pad, a->hi = hi * pad;
        return;
    }
    double step = nice_step((hi - lo) / 5);
    a->lo = lo == 0 ? 0 : floor(lo / step) * step;
    a->hi = ceil(hi / step - 1e-9) * step;
}

/* Log ticks: the sparsest of {1}, {1,2,5}, {1..9} x 10^k giving >= 4. */
static int log_ticks(const bb_axis *a, double *t, int max)
{
    static const double sets[3][10] = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
    static const int sizes[3] = {1, 3, 9};
    int n = 0;
    for (int s = 0; s < 3 && n < 4; s++) {
        n = 0;
        for (double p = pow(10, floor(log10(a->lo))); p <= a->hi && n < max; p *= 10)
            for (int k = 0; k < sizes[s] && n < max; k++) {
                double v = sets[s][k] * p;
                if (v >= a->lo * 0.9999 && v <= a->hi * 1.0001)
                    t[n++] = v;
            }
    }
    return n;
}

int bb_axis_ticks(const bb_axis *a, double *t, int max)
{
    int n = a->log ? log_ticks(a, t, max) : 0;
    if (a->log && n >= 2)
        return n; /* else: a narrow log range, ticked linearly */
    double step = nice_step((a->hi - a->lo) / 5);
    n = 0;
    for (double v = ceil(a->lo / step - 1e-9) * step; v <= a->hi + step * 1e-6 && n < max; v += step)
        t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    return n;
}

void bb_fmt_num(double v, char *buf, size_t len)
{
    if (fabs(v) >= 1e6 || (fabs(v) < 1e-3 && v != 0))
        snprintf(buf, len, "%.3g", v);
    else
        snprintf(buf, len, "%.6g", round(v * 1e4) / 1e4);
}

void bb_draw_y_axis(bb_canvas *cv, const bb_box *b, const bb_axis *a, const double *t, int n, const char *title)
{
    bb_text_style ts = bb_style(14, 0, BB_RIGHT, 0, BB_DARK);
    double widest = 0;
    for (int i = 0; i < n; i++) {
        char s[32];
        double y = bb_axis_px(a, t[i]);
        bb_fmt_num(t[i], s, sizeof s);
        bb_line(cv, b->x, y, b->x + b->w, y, 1, BB_GRID, 0);
        bb_line(cv, b->x - 5, y, b->x, y, 1, BB_DARK, 0);
        bb_text(cv, b->x - 9, y + 5, s, &ts);
        double w = bb_text_width(cv, s, 14, 0);
        widest = w > widest ? w : widest;
    }
    bb_text_style tt = bb_style(16, 0, BB_CENTER, -90, BB_BLACK);
    bb_text(cv, b->x - widest - 22, b->y + b->h / 2, title, &tt);
}

void bb_draw_x_axis(bb_canvas *cv, const bb_box *b, const bb_axis *a, const double *t, int n, const char *title)
{
    bb_text_style ts = bb_style(14, 0, BB_CENTER, 0, BB_DARK);
    double base = b->y + b->h;
    for (int i = 0; t && i < n; i++) {
        char s[32];
        double x = bb_axis_px(a, t[i]);
        bb_fmt_num(t[i], s, sizeof s);
        bb_line(cv, x, b->y, x, base, 1, BB_GRID, 0);
        bb_line(cv, x, base, x, base + 5, 1, BB_DARK, 0);
        bb_text(cv, x, base + 22, s, &ts);
    }
    bb_text_style tt = bb_style(16, 0, BB_CENTER, 0, BB_BLACK);
    bb_text(cv, b->x + b->w / 2, base + 52, title, &tt);
}

void bb_draw_frame(bb_canvas *cv, const bb_box *b)
{
    cairo_t *cr = cv->cr;
    cairo_save(cr);
    cairo_rectangle(cr, b->x, b->y, b->w, b->h);
    cairo_set_source_rgb(cr, BB_DARK.r, BB_DARK.g, BB_DARK.b);
    cairo_set_line_width(cr, 1.2);
    cairo_stroke(cr);
    cairo_restore(cr);
}

void bb_draw_title(bb_canvas *cv, const char *title, const char *subtitle)
{
    bb_text_style t = bb_style(22, 1, BB_CENTER, 0, BB_BLACK), s = bb_style(15, 0, BB_CENTER, 0, BB_GREY);
    bb_text(cv, cv->w / 2, 38, title, &t);
    if (subtitle)
        bb_text(cv, cv->w / 2, 64, subtitle, &s);
}

const char *bb_time_unit(double max_s, double *scale)
{
    if (max_s >= 1)
        return *scale = 1, "s";
    if (max_s >= 1e-3)
        return *scale = 1e3, "ms";
    return *scale = 1e6, "\xC2\xB5s"; /* µs */
}

/* ---- legend --------------------------------------------------------------------- */

#define LEG_ROW 24
#define LEG_KEY 34

double bb_legend_width(bb_canvas *cv, const char *title, const bb_legend_item *it, int n)
{
    double w = title ? bb_text_width(cv, title, 14, 1) : 0;
    for (int i = 0; i < n; i++) {
        double x = LEG_KEY + bb_text_width(cv, it[i].label, 14, 0);
        w = x > w ? x : w;
    }
    return w + 24;
}

void bb_legend_draw(bb_canvas *cv, double x, double y, const char *title, const bb_legend_item *it, int n)
{
    bb_text_style tt = bb_style(14, 1, BB_LEFT, 0, BB_BLACK), ts = bb_style(14, 0, BB_LEFT, 0, BB_BLACK);
    if (title) {
        bb_text(cv, x, y + 14, title, &tt);
        y += LEG_ROW + 2;
    }
    for (int i = 0; i < n; i++, y += LEG_ROW) {
        double cy = y + 9;
        if (it[i].line) {
            bb_line(cv, x, cy, x + 26, cy, 2.2, it[i].color, it[i].dashed);
            bb_marker(cv, x + 13, cy, it[i].marker, 9, it[i].color);
        } else {
            bb_rect_fill(cv, x + 3, cy - 8, 20, 16, it[i].color, 1);
        }
        bb_text(cv, x + LEG_KEY, cy + 5, it[i].label, &ts);
    }
}
