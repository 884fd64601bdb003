/*
 * plot_util.h — the small drawing kit the charts are made with: a canvas
 * that is a PNG, SVG or PDF, text, markers, axes (linear, log2, log10),
 * legends, the Okabe–Ito palette and an atomic file writer.
 *
 * Why this file exists: plot.c should say what a chart shows, not how a
 * tick label is placed. Every chart gets the same fonts, colours and axis
 * conventions from here, and one place deals with Cairo's quirks: Cairo's
 * SVG surface turns text into glyph outlines, so on an SVG canvas shapes are
 * drawn by Cairo while text is written as real <text> elements (searchable,
 * selectable, read by screen readers), placed with the same metrics.
 */
#ifndef BB_PLOT_UTIL_H
#define BB_PLOT_UTIL_H

#include <stddef.h>
#include <stdio.h>

#include <cairo.h>

#include "util/error.h"

enum { BB_FMT_PNG = 1, BB_FMT_SVG = 2, BB_FMT_PDF = 4 };

typedef struct {
    double r, g, b;
} bb_rgb;

typedef struct {
    int format; /* one BB_FMT_* */
    double w, h;
    cairo_surface_t *surface;
    cairo_t *cr;
    char *bytes; /* SVG / PDF stream from Cairo (memstream) */
    size_t n_bytes;
    FILE *stream;
    char *text; /* SVG only: the <text> elements, appended before </svg> */
    size_t n_text;
    FILE *text_stream;
} bb_canvas;

/* A w x h canvas (units = PNG pixels = SVG/PDF points), white background. */
int bb_canvas_open(bb_canvas *cv, int format, double w, double h, bb_err *err);
/* Finishes the drawing and writes it to path atomically (path.tmp.<pid>,
 * fsync, rename); always frees the canvas. */
int bb_canvas_save(bb_canvas *cv, const char *path, bb_err *err);
void bb_canvas_discard(bb_canvas *cv);

/* Frees the font caches of Cairo and fontconfig, so leak checkers see a
 * clean exit. Call once, when no canvas is open any more (end of a command
 * or a test program); drawing afterwards re-initialises them. */
void bb_plot_release(void);

/* ---- text ------------------------------------------------------------------ */

enum { BB_LEFT = -1, BB_CENTER = 0, BB_RIGHT = 1 };

typedef struct {
    double size;  /* font size, canvas units */
    int bold;
    int align;    /* BB_LEFT/CENTER/RIGHT of the anchor, along the text */
    double angle; /* degrees, clockwise as on screen; -90 reads upwards */
    bb_rgb color;
} bb_text_style;

/* Draws s with its baseline at (x, y) rotated about that point. */
void bb_text(bb_canvas *cv, double x, double y, const char *s, const bb_text_style *st);
double bb_text_width(bb_canvas *cv, const char *s, double size, int bold);
bb_text_style bb_style(double size, int bold, int align, double angle, bb_rgb color);

/* ---- colours, lines, markers -------------------------------------------------- */

extern const bb_rgb BB_BLACK, BB_GREY, BB_GRID, BB_DARK;
bb_rgb bb_palette(int i);     /* Okabe–Ito, cycling */
int bb_marker_of(int series); /* distinct (colour, marker) pairs for 32 series */
int bb_dashed_of(int series); /* dashed lines after the first 8 series */

void bb_line(bb_canvas *cv, double x0, double y0, double x1, double y1, double width, bb_rgb c, int dashed);
void bb_rect_fill(bb_canvas *cv, double x, double y, double w, double h, bb_rgb fill, int outline);
/* shape 0 circle, 1 square, 2 triangle, 3 diamond; filled with c, dark rim */
void bb_marker(bb_canvas *cv, double x, double y, int shape, double size, bb_rgb c);

/* ---- axes ------------------------------------------------------------------ */

typedef struct {
    double x, y, w, h;
} bb_box;

typedef struct {
    double lo, hi; /* data range shown */
    int log;       /* 0 linear, else the base (2 or 10) */
    double p0, p1; /* canvas coordinates of lo and hi */
} bb_axis;

double bb_axis_px(const bb_axis *a, double v);
/* Linear: lo..hi widened to round ticks (lo stays 0 if it was 0). Log:
 * lo/pad .. hi*pad. */
void bb_axis_fit(bb_axis *a, double lo, double hi, int log);
/* Round tick values within the axis (at most max); returns the count. */
int bb_axis_ticks(const bb_axis *a, double *t, int max);
void bb_fmt_num(double v, char *buf, size_t len);

/* Grid lines, tick labels and the axis title. For x, ticks == NULL draws
 * only the title (a categorical axis draws its own labels). */
void bb_draw_y_axis(bb_canvas *cv, const bb_box *b, const bb_axis *a, const double *t, int n, const char *title);
void bb_draw_x_axis(bb_canvas *cv, const bb_box *b, const bb_axis *a, const double *t, int n, const char *title);
void bb_draw_frame(bb_canvas *cv, const bb_box *b);
/* Title (bold, centred) and subtitle at the top of the canvas. */
void bb_draw_title(bb_canvas *cv, const char *title, const char *subtitle);

/* Time unit for values up to max_s: s, ms or µs, with its scale factor. */
const char *bb_time_unit(double max_s, double *scale);

/* ---- legend ------------------------------------------------------------------ */

typedef struct {
    const char *label;
    bb_rgb color;
    int line;   /* 0: filled box (bars); 1: line with marker */
    int marker, dashed;
} bb_legend_item;

double bb_legend_width(bb_canvas *cv, const char *title, const bb_legend_item *it, int n);
void bb_legend_draw(bb_canvas *cv, double x, double y, const char *title, const bb_legend_item *it, int n);

#endif
