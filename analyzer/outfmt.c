/*
 * outfmt.c - text helpers for the outputs: human-readable byte sizes and
 * counts, XML escaping for the SVGs, JSON string and number writing for the
 * diff. It does not decide any layout: callers own their formats.
 */
#include "outfmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *hp_outfmt_bytes(double bytes, int sign, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    const char *pre = "";
    double v = bytes;
    size_t u = 0;

    if (len == 0)
        return buf;
    if (!isfinite(v))
        v = 0;
    if (v < 0) {
        pre = "-";
        v = -v;
    } else if (sign) {
        pre = "+";
    }
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%s%.0f B", pre, v);
    else if (v < 10)
        snprintf(buf, len, "%s%.2f %s", pre, v, units[u]);
    else if (v < 100)
        snprintf(buf, len, "%s%.1f %s", pre, v, units[u]);
    else
        snprintf(buf, len, "%s%.0f %s", pre, v, units[u]);
    return buf;
}

const char *hp_outfmt_count(double n, int sign, char *buf, size_t len)
{
    char digits[64];
    const char *pre = "";
    size_t nd, i, o = 0;

    if (len == 0)
        return buf;
    if (!isfinite(n))
        n = 0;
    n = llround(n);
    if (n < 0) {
        pre = "-";
        n = -n;
    } else if (sign) {
        pre = "+";
    }
    snprintf(digits, sizeof(digits), "%.0f", n);
    nd = strlen(digits);
    for (i = 0; pre[i] && o + 1 < len; i++)
        buf[o++] = pre[i];
    for (i = 0; i < nd && o + 1 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0 && o + 1 < len)
            buf[o++] = ',';
        if (o + 1 < len)
            buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

void hp_outfmt_xml(FILE *out, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            /* XML 1.0 allows only tab, LF and CR below 0x20. */
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                fputc('?', out);
            else
                fputc(c, out);
        }
    }
}

void hp_outfmt_json_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (c < 0x20)
                fprintf(out, "\\u%04x", c);
            else
                fputc(c, out);
        }
    }
    fputc('"', out);
}

void hp_outfmt_json_num(FILE *out, double v)
{
    if (!isfinite(v))
        v = 0;
    if (v == floor(v) && fabs(v) < 9e15)
        fprintf(out, "%.0f", v);
    else
        fprintf(out, "%.17g", v);
}
