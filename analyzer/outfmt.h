/*
 * outfmt.h - small text helpers shared by the graphical and diff outputs
 * (flame.c, timeline.c, diff.c): human-readable sizes, XML and JSON
 * escaping.
 */
#ifndef HP_OUTFMT_H
#define HP_OUTFMT_H

#include <stddef.h>
#include <stdio.h>

/*
 * Formats a byte count for people: "0 B", "512 B", "1.5 KiB", "12.3 MiB",
 * "2.00 GiB". With sign = 1 a non-negative value gets a leading '+'
 * (negative values always get '-'). Writes into buf (len bytes, always
 * NUL-terminated) and returns buf.
 */
const char *hp_outfmt_bytes(double bytes, int sign, char *buf, size_t len);

/*
 * Formats a count for people: "12", "1,234,567" (rounded to an integer).
 * With sign = 1 a non-negative value gets a leading '+'. Writes into buf
 * (len bytes) and returns buf.
 */
const char *hp_outfmt_count(double n, int sign, char *buf, size_t len);

/*
 * Writes s to out escaped for XML text and attribute values (& < > " '),
 * dropping control characters XML 1.0 forbids. s NULL writes nothing.
 */
void hp_outfmt_xml(FILE *out, const char *s);

/*
 * Writes s to out as a JSON string, quotes included. s NULL writes null.
 */
void hp_outfmt_json_str(FILE *out, const char *s);

/*
 * Writes v to out as a JSON number: an integer when v is integral, else
 * with up to 17 significant digits; non-finite values are written as 0.
 */
void hp_outfmt_json_num(FILE *out, double v);

#endif /* HP_OUTFMT_H */
