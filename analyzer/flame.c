/*
 * flame.c - allocation flamegraphs: an interactive, self-contained SVG and
 * Brendan Gregg's folded ("collapsed") stacks (issue 4).
 *
 * Both outputs merge the analysis' sites into one tree keyed by frame name
 * (hp_flame_frame_name), root first: identical name paths from different
 * stacks (two return addresses in one function) become one frame. The SVG
 * draws that tree with the root ("all") at the bottom, widths proportional
 * to the chosen kind, and carries its own script and style (zoom on click,
 * reset, regex search with the matched percentage, tooltips and a details
 * line); it never references the network. Frames narrower than 0.1% of the
 * total are not drawn (their bytes stay in their parent's width; a group of
 * them large enough to see is drawn as one "[N smaller frames]" frame), so
 * 10^4 distinct stacks give a file of a few hundred KiB.
 *
 * It does not read traces or symbolize: it only reads hp_analysis_t.
 */
#include "flame.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapprof/error.h"
#include "outfmt.h"

#define NONE UINT32_MAX

/* One frame of the merged tree. Index 0 is the root ("all"). */
typedef struct node_s {
    char *name;              /* owned */
    const hp_frame_t *frame; /* first frame seen with this path; NULL: root/synthetic */
    uint32_t parent, first_child, next_sibling;
    uint32_t depth;
    int synthetic; /* 1: "[N smaller frames]" */
    double value;  /* sum over the subtree */
    double self;   /* value of stacks ending here */
    double calls;  /* allocation calls of the subtree */
    double x;      /* layout: offset in value units */
} node_t;

typedef struct tree_s {
    node_t *n;
    size_t len, cap;
    uint32_t *ht; /* child lookup: node index + 1, 0 = empty */
    size_t htcap;
} tree_t;

static uint64_t hash_str(const char *s, uint32_t parent)
{
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static void tree_free(tree_t *t)
{
    for (size_t i = 0; i < t->len; i++)
        free(t->n[i].name);
    free(t->n);
    free(t->ht);
    memset(t, 0, sizeof(*t));
}

static int ht_insert(tree_t *t, uint32_t idx)
{
    size_t mask = t->htcap - 1;
    size_t h = (size_t)hash_str(t->n[idx].name, t->n[idx].parent) & mask;
    while (t->ht[h])
        h = (h + 1) & mask;
    t->ht[h] = idx + 1;
    return 0;
}

static int ht_grow(tree_t *t)
{
    size_t cap = t->htcap ? t->htcap * 2 : 1024;
    uint32_t *ht = calloc(cap, sizeof(*ht));
    if (!ht)
        return HP_ERR_NOMEM;
    free(t->ht);
    t->ht = ht;
    t->htcap = cap;
    for (size_t i = 1; i < t->len; i++)
        ht_insert(t, (uint32_t)i);
    return 0;
}

/* Appends a node; returns its index or NONE when out of memory. */
static uint32_t node_add(tree_t *t, uint32_t parent, const char *name, const hp_frame_t *f)
{
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        node_t *n = realloc(t->n, cap * sizeof(*n));
        if (!n)
            return NONE;
        t->n = n;
        t->cap = cap;
    }
    if (t->len >= UINT32_MAX - 1)
        return NONE;
    node_t *nd = &t->n[t->len];
    memset(nd, 0, sizeof(*nd));
    nd->name = strdup(name);
    if (!nd->name)
        return NONE;
    nd->frame = f;
    nd->parent = parent;
    nd->first_child = NONE;
    nd->next_sibling = NONE;
    if (parent != NONE) {
        nd->depth = t->n[parent].depth + 1;
        nd->next_sibling = t->n[parent].first_child;
        t->n[parent].first_child = (uint32_t)t->len;
    }
    return (uint32_t)t->len++;
}

static uint32_t child_get(tree_t *t, uint32_t parent, const char *name, const hp_frame_t *f)
{
    if ((t->len + 1) * 2 > t->htcap && ht_grow(t) < 0)
        return NONE;
    size_t mask = t->htcap - 1;
    size_t h = (size_t)hash_str(name, parent) & mask;
    while (t->ht[h]) {
        node_t *c = &t->n[t->ht[h] - 1];
        if (c->parent == parent && strcmp(c->name, name) == 0)
            return t->ht[h] - 1;
        h = (h + 1) & mask;
    }
    uint32_t idx = node_add(t, parent, name, f);
    if (idx == NONE)
        return NONE;
    t->ht[h] = idx + 1;
    return idx;
}

/* Builds the merged tree of every site with a positive value of kind. */
static int tree_build(tree_t *t, const hp_analysis_t *a, hp_kind_t kind)
{
    char buf[512];

    memset(t, 0, sizeof(*t));
    if (node_add(t, NONE, "all", NULL) == NONE || ht_grow(t) < 0)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < a->nsites; i++) {
        const hp_site_t *s = &a->sites[i];
        double v = hp_site_value(s, kind);
        if (!(v > 0))
            continue;
        uint32_t cur = 0;
        t->n[0].value += v;
        t->n[0].calls += s->allocations;
        if (s->nframes == 0) {
            cur = child_get(t, cur, "[unknown stack]", NULL);
            if (cur == NONE)
                return HP_ERR_NOMEM;
            t->n[cur].value += v;
            t->n[cur].calls += s->allocations;
        }
        for (size_t k = s->nframes; k-- > 0;) {
            const hp_frame_t *f = &s->frames[k];
            cur = child_get(t, cur, hp_flame_frame_name(f, buf, sizeof(buf)), f);
            if (cur == NONE)
                return HP_ERR_NOMEM;
            t->n[cur].value += v;
            t->n[cur].calls += s->allocations;
        }
        t->n[cur].self += v;
    }
    return 0;
}

const char *hp_flame_frame_name(const hp_frame_t *f, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (f->function && f->function[0]) {
        snprintf(buf, len, "%s", f->function);
    } else if (f->module && f->module[0]) {
        const char *base = strrchr(f->module, '/');
        snprintf(buf, len, "%s+0x%llx", base ? base + 1 : f->module, (unsigned long long)f->offset);
    } else {
        snprintf(buf, len, "0x%llx", (unsigned long long)f->pc);
    }
    return buf;
}

/* ---- folded stacks ---- */

/* Writes a frame name for the folded format: ';' separates frames and a
 * newline ends the line, so neither may appear inside a name. */
static void folded_name(FILE *out, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c == ';')
            c = ':';
        else if (c == '\n' || c == '\r')
            c = ' ';
        fputc(c, out);
    }
}

static void folded_path(FILE *out, const tree_t *t, uint32_t idx)
{
    if (t->n[idx].parent != 0 && t->n[idx].parent != NONE) {
        folded_path(out, t, t->n[idx].parent);
        fputc(';', out);
    }
    folded_name(out, t->n[idx].name);
}

int hp_flame_write_folded(FILE *out, const hp_analysis_t *a, hp_kind_t kind)
{
    tree_t t;
    int rc = tree_build(&t, a, kind);
    if (rc < 0)
        goto out;
    /* Nodes in creation order: a deterministic order for identical input.
     * Values are rounded so that their running sum tracks the exact total:
     * the lines then sum to the rounded total instead of drifting by up to
     * half a unit per line. */
    double acc = 0, printed = 0;
    for (size_t i = 1; i < t.len; i++) {
        if (!(t.n[i].self > 0))
            continue;
        acc += t.n[i].self;
        double v = llround(acc) - printed;
        if (v <= 0)
            continue;
        printed += v;
        folded_path(out, &t, (uint32_t)i);
        fprintf(out, " %.0f\n", v);
    }
    rc = ferror(out) ? HP_ERR_IO : 0;
out:
    tree_free(&t);
    return rc;
}

/* ---- SVG ---- */

#define SVG_W 1200.0
#define PAD_X 10.0
#define FRAME_H 17.0
#define TOP_H 72.0
#define BOTTOM_H 40.0
#define CHAR_W 6.6
#define MIN_FRACTION 0.001

typedef struct svg_s {
    FILE *out;
    tree_t *t;
    const hp_analysis_t *a;
    hp_kind_t kind;
    double total;
    double scale; /* pixels per value unit */
    double height;
    const char *exe_base;
} svg_t;

static int kind_is_bytes(hp_kind_t k)
{
    return k == HP_KIND_ALLOCATED || k == HP_KIND_PEAK || k == HP_KIND_LEAKED;
}

static const char *kind_title(hp_kind_t k)
{
    switch (k) {
    case HP_KIND_ALLOCATED:
        return "Allocated bytes";
    case HP_KIND_PEAK:
        return "Bytes live at the peak";
    case HP_KIND_LEAKED:
        return "Leaked bytes (live at exit)";
    case HP_KIND_TEMPORARY:
        return "Temporary allocations";
    case HP_KIND_COUNT:
        return "Allocation calls";
    }
    return "?";
}

static const char *value_str(hp_kind_t k, double v, char *buf, size_t len)
{
    if (kind_is_bytes(k))
        return hp_outfmt_bytes(v, 0, buf, len);
    return hp_outfmt_count(v, 0, buf, len);
}

/* In a sampled trace the exact counters still give the true total of the
 * allocated and count kinds: writes it into buf, or returns NULL. */
static const char *exact_label(const hp_analysis_t *a, hp_kind_t k, char *buf, size_t len)
{
    char num[64];
    if (k == HP_KIND_ALLOCATED && a->total_bytes > 0)
        snprintf(buf, len, "total %s",
                 hp_outfmt_bytes((double)a->total_bytes, 0, num, sizeof(num)));
    else if (k == HP_KIND_COUNT && a->total_allocations > 0)
        snprintf(buf, len, "total %s calls",
                 hp_outfmt_count((double)a->total_allocations, 0, num, sizeof(num)));
    else
        return NULL;
    return buf;
}

static const char *base_name(const char *p)
{
    if (!p)
        return NULL;
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

enum { CLS_PROGRAM, CLS_LIBC, CLS_CXXRT, CLS_OTHER, CLS_UNKNOWN, CLS_ROOT, CLS_SMALL };

static int frame_class(const svg_t *g, const node_t *nd)
{
    if (nd->synthetic)
        return CLS_SMALL;
    if (!nd->frame)
        return nd->parent == NONE ? CLS_ROOT : CLS_UNKNOWN;
    const hp_frame_t *f = nd->frame;
    const char *m = base_name(f->module);
    if (!m || !m[0])
        return f->function ? CLS_OTHER : CLS_UNKNOWN;
    if (!strncmp(m, "libc.so", 7) || !strncmp(m, "libc-", 5) || !strncmp(m, "ld-linux", 8) ||
        !strncmp(m, "libm.so", 7) || !strncmp(m, "libpthread", 10) || !strncmp(m, "libdl.so", 8) ||
        !strncmp(m, "librt.so", 8) || !strncmp(m, "ld64.so", 7))
        return CLS_LIBC;
    if (!strncmp(m, "libstdc++", 9) || !strncmp(m, "libgcc_s", 8) || !strncmp(m, "libc++", 6))
        return CLS_CXXRT;
    if (g->exe_base && !strcmp(m, g->exe_base))
        return CLS_PROGRAM;
    if (!strstr(m, ".so"))
        return CLS_PROGRAM; /* an executable, not a shared library */
    return CLS_OTHER;
}

static uint32_t hash32(const char *s)
{
    uint32_t h = 2166136261u;
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* Colour of a frame: the class picks a hue range, the module's name a base
 * hue inside it (stable per module across runs), the function's name a
 * small hue and lightness step so that neighbours stay apart. */
static void frame_colour(const svg_t *g, const node_t *nd, char *buf, size_t len)
{
    int cls = frame_class(g, nd);
    const char *mod = nd->frame ? nd->frame->module : NULL;
    uint32_t hm = hash32(base_name(mod));
    uint32_t hf = hash32(nd->name);
    int light_step = (int)(hf % 5) * 3;
    int h = 0, s = 0, l = 0;

    switch (cls) {
    case CLS_PROGRAM:
        h = 15 + (int)(hm % 18) + (int)(hf % 14);
        s = 88;
        l = 55 + light_step;
        break;
    case CLS_LIBC:
        h = 195 + (int)(hm % 16) + (int)(hf % 14);
        s = 65;
        l = 62 + light_step;
        break;
    case CLS_CXXRT:
        h = 95 + (int)(hm % 24) + (int)(hf % 16);
        s = 50;
        l = 55 + light_step;
        break;
    case CLS_OTHER:
        h = 255 + (int)(hm % 30) + (int)(hf % 20);
        s = 30;
        l = 62 + light_step;
        break;
    case CLS_UNKNOWN:
        h = 355;
        s = 75;
        l = 45 + light_step;
        break;
    case CLS_ROOT:
        h = 0;
        s = 0;
        l = 78;
        break;
    case CLS_SMALL:
        h = 0;
        s = 0;
        l = 88;
        break;
    }
    snprintf(buf, len, "hsl(%d,%d%%,%d%%)", h % 360, s, l);
}

static void write_label(FILE *out, const char *name, double width)
{
    size_t fit = width > 6 ? (size_t)((width - 6) / CHAR_W) : 0;
    size_t n = strlen(name);
    if (fit < 3)
        return;
    if (n <= fit) {
        hp_outfmt_xml(out, name);
        return;
    }
    /* Cut on a byte that starts a UTF-8 sequence. */
    size_t cut = fit - 2;
    while (cut > 0 && ((unsigned char)name[cut] & 0xC0) == 0x80)
        cut--;
    char *tmp = strndup(name, cut);
    if (!tmp)
        return;
    hp_outfmt_xml(out, tmp);
    fputs("..", out);
    free(tmp);
}

static void write_frame(svg_t *g, uint32_t idx)
{
    node_t *nd = &g->t->n[idx];
    FILE *out = g->out;
    char vbuf[64], cbuf[64], col[48];
    double x = PAD_X + nd->x * g->scale;
    double w = nd->value * g->scale;
    double y = g->height - BOTTOM_H - (nd->depth + 1) * FRAME_H;
    double pct = g->total > 0 ? 100.0 * nd->value / g->total : 0;

    frame_colour(g, nd, col, sizeof(col));
    fputs("<g class=\"f\"><title>", out);
    hp_outfmt_xml(out, nd->name);
    fputc('\n', out);
    if (nd->frame && nd->frame->file) {
        hp_outfmt_xml(out, nd->frame->file);
        if (nd->frame->line > 0)
            fprintf(out, ":%d", nd->frame->line);
    } else if (nd->frame && nd->frame->module) {
        hp_outfmt_xml(out, nd->frame->module);
    } else if (idx == 0) {
        hp_outfmt_xml(out, g->a->exe ? g->a->exe : "the whole program");
    } else {
        fputs(nd->synthetic ? "frames narrower than 0.1% of the total, merged"
                            : "no source information",
              out);
    }
    if (nd->frame && nd->frame->inlined)
        fputs(" (inlined)", out);
    fprintf(out, "\n%s (%.2f%%), %s calls</title>",
            value_str(g->kind, nd->value, vbuf, sizeof(vbuf)), pct,
            hp_outfmt_count(nd->calls, 0, cbuf, sizeof(cbuf)));
    fprintf(out, "<rect x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%.1f\" fill=\"%s\"/>", x, y,
            w, FRAME_H - 1, col);
    fprintf(out, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + FRAME_H - 5);
    write_label(out, nd->name, w);
    fputs("</text></g>\n", out);
}

static int cmp_child(const void *pa, const void *pb, void *ctx)
{
    const tree_t *t = ctx;
    const node_t *a = &t->n[*(const uint32_t *)pa], *b = &t->n[*(const uint32_t *)pb];
    if (a->value != b->value)
        return a->value > b->value ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Lays out and writes the subtree of idx (largest child leftmost). */
static int write_subtree(svg_t *g, uint32_t idx)
{
    tree_t *t = g->t;
    double min_value = g->total * MIN_FRACTION;
    size_t nkids = 0;
    int rc = 0;

    write_frame(g, idx);
    for (uint32_t c = t->n[idx].first_child; c != NONE; c = t->n[c].next_sibling)
        nkids++;
    if (nkids == 0)
        return 0;
    uint32_t *kids = malloc(nkids * sizeof(*kids));
    if (!kids)
        return HP_ERR_NOMEM;
    nkids = 0;
    for (uint32_t c = t->n[idx].first_child; c != NONE; c = t->n[c].next_sibling)
        kids[nkids++] = c;
    qsort_r(kids, nkids, sizeof(*kids), cmp_child, t);

    double x = t->n[idx].x, small = 0, small_calls = 0;
    size_t nsmall = 0;
    for (size_t i = 0; i < nkids && rc == 0; i++) {
        node_t *c = &t->n[kids[i]];
        if (c->value < min_value) {
            small += c->value;
            small_calls += c->calls;
            nsmall++;
            continue;
        }
        c->x = x;
        x += c->value;
        rc = write_subtree(g, kids[i]);
    }
    free(kids);
    if (rc == 0 && nsmall > 0 && small >= min_value) {
        char name[64];
        snprintf(name, sizeof(name), "[%zu smaller frames]", nsmall);
        uint32_t s = node_add(t, idx, name, NULL);
        if (s == NONE)
            return HP_ERR_NOMEM;
        t->n[s].synthetic = 1;
        t->n[s].value = small;
        t->n[s].calls = small_calls;
        t->n[s].x = x;
        write_frame(g, s);
    }
    return rc;
}

/* The page's script: zoom, reset, search, details. Kept free of "]]>" and
 * of any network access. */
static const char flame_script[] =
    "(function(){\n"
    "var svg=document.documentElement,NS='http://www.w3.org/2000/svg';\n"
    "var W=+svg.getAttribute('width'),PAD="
    "10"
    ",CW="
    "6.6"
    ";\n"
    "var frames=[].slice.call(document.querySelectorAll('g.f'));\n"
    "var details=document.getElementById('details'),matched=document.getElementById('matched');\n"
    "var unzoom=document.getElementById('unzoom'),search=document.getElementById('search');\n"
    "frames.forEach(function(g){var r=g.querySelector('rect');\n"
    " g._x=+r.getAttribute('x');g._w=+r.getAttribute('width');g._y=+r.getAttribute('y');\n"
    " g._t=g.querySelector('title').textContent;g._n=g._t.split('\\n')[0];\n"
    " g.addEventListener('click',function(e){e.stopPropagation();zoom(g);});\n"
    " g.addEventListener('mouseover',function(){details.textContent=g._t.replace(/\\n/g,'  |  "
    "');});\n"
    " g.addEventListener('mouseout',function(){details.textContent=' ';});});\n"
    "var root=frames.length?frames[0]:null;\n"
    "function label(g,w){var t=g.querySelector('text'),n=Math.floor((w-6)/CW);\n"
    " t.textContent=n<3?'':(g._n.length<=n?g._n:g._n.substring(0,n-2)+'..');}\n"
    "function place(g,x,w){var r=g.querySelector('rect');r.setAttribute('x',x.toFixed(3));\n"
    " r.setAttribute('width',w.toFixed(3));g.querySelector('text').setAttribute('x',(x+3).toFixed("
    "2));label(g,w);}\n"
    "function zoom(z){if(!z||z===root){reset();return;}\n"
    " var x=z._x,w=z._w,s=(W-2*PAD)/w,e=1e-3;\n"
    " frames.forEach(function(g){\n"
    "  if(g._y>z._y+e){ "
    "if(g._x<=x+e&&g._x+g._w>=x+w-e){g.style.display='';g.classList.add('parent');place(g,PAD,W-2*"
    "PAD);}\n"
    "   else g.style.display='none';}\n"
    "  else if(g._x>=x-e&&g._x+g._w<=x+w+e){g.style.display='';g.classList.remove('parent');\n"
    "   place(g,PAD+(g._x-x)*s,g._w*s);}\n"
    "  else g.style.display='none';});\n"
    " unzoom.classList.remove('hide');svg.setAttribute('data-zoomed',z._n);}\n"
    "function "
    "reset(){frames.forEach(function(g){g.style.display='';g.classList.remove('parent');place(g,g._"
    "x,g._w);});\n"
    " unzoom.classList.add('hide');svg.removeAttribute('data-zoomed');}\n"
    "function find(term){\n"
    " frames.forEach(function(g){g.classList.remove('hit');});\n"
    " if(!term){matched.textContent=' ';svg.removeAttribute('data-matched');return;}\n"
    " var re;try{re=new RegExp(term);}catch(err){re=null;}\n"
    " var iv=[];frames.forEach(function(g){if(g===root)return;\n"
    "  "
    "if(re?re.test(g._n):g._n.indexOf(term)>=0){g.classList.add('hit');iv.push([g._x,g._x+g._w]);}}"
    ");\n"
    " iv.sort(function(a,b){return a[0]-b[0];});var sum=0,end=-1;\n"
    " iv.forEach(function(v){if(v[0]>=end){sum+=v[1]-v[0];end=v[1];}else "
    "if(v[1]>end){sum+=v[1]-end;end=v[1];}});\n"
    " var tot=root?root._w:0,p=tot>0?100*sum/tot:0;\n"
    " matched.textContent='Matched: '+p.toFixed(1)+'% "
    "(\"'+term+'\")';svg.setAttribute('data-matched',p.toFixed(1));}\n"
    "unzoom.addEventListener('click',reset);\n"
    "search.addEventListener('click',function(){var t=prompt('Search frames (regular "
    "expression):','');if(t!==null)find(t);});\n"
    "document.getElementById('clear').addEventListener('click',function(){find('');});\n"
    "document.addEventListener('keydown',function(e){if((e.ctrlKey||e.metaKey)&&e.key==='f'){e."
    "preventDefault();search.dispatchEvent(new Event('click'));}\n"
    " else if(e.key==='Escape'){reset();find('');}});\n"
    "window.heapprofFlame={zoom:function(n){zoom(frames.filter(function(g){return "
    "g._n===n;})[0]);},reset:reset,search:find};\n"
    "})();\n";

static const char flame_style[] =
    "text{font-family:monospace;font-size:11px;fill:#000}\n"
    "g.f text{pointer-events:none}\n"
    "g.f:hover rect{stroke:#000;stroke-width:0.8}\n"
    "g.f{cursor:pointer}\n"
    "g.parent rect{opacity:0.55}\n"
    "g.hit rect{fill:#e040e0 !important}\n"
    ".title{font-size:17px;font-family:sans-serif;text-anchor:middle}\n"
    ".sub{font-size:12px;font-family:sans-serif;text-anchor:middle;fill:#444}\n"
    ".ctl{font-size:13px;font-family:sans-serif;fill:#0645ad;cursor:pointer;text-decoration:"
    "underline}\n"
    ".hide{display:none}\n"
    ".legend{font-size:11px;font-family:sans-serif;fill:#333}\n";

int hp_flame_write_svg(FILE *out, const hp_analysis_t *a, hp_kind_t kind, const char *title)
{
    tree_t t;
    svg_t g;
    char vbuf[64], cbuf[64];
    int rc = tree_build(&t, a, kind);
    if (rc < 0)
        goto out;

    memset(&g, 0, sizeof(g));
    g.out = out;
    g.t = &t;
    g.a = a;
    g.kind = kind;
    g.total = t.n[0].value;
    g.scale = g.total > 0 ? (SVG_W - 2 * PAD_X) / g.total : 0;
    g.exe_base = base_name(a->exe);
    /* Height: as deep as the drawn frames go (a node is drawn when it is at
     * least MIN_FRACTION wide; its merged small children may add a level). */
    uint32_t depth = 0;
    for (size_t i = 0; i < t.len; i++) {
        uint32_t d = t.n[i].depth + (t.n[i].first_child != NONE ? 1 : 0);
        if (t.n[i].value >= g.total * MIN_FRACTION && d > depth)
            depth = d;
    }
    g.height = TOP_H + (depth + 1) * FRAME_H + BOTTOM_H;

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            SVG_W, g.height, SVG_W, g.height);
    fprintf(out, "<style type=\"text/css\"><![CDATA[\n%s]]></style>\n", flame_style);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fdfdf8\"/>\n", SVG_W,
            g.height);

    /* Title: the kind and the program, then the total. */
    fprintf(out, "<text class=\"title\" x=\"%.0f\" y=\"22\">", SVG_W / 2);
    /* The kind is always named: callers pass the program or a context. */
    hp_outfmt_xml(out, kind_title(kind));
    fputs(": ", out);
    hp_outfmt_xml(out, title ? title : a->exe ? a->exe : "(unknown program)");
    fputs("</text>\n", out);
    fprintf(out, "<text class=\"sub\" x=\"%.0f\" y=\"40\">total ", SVG_W / 2);
    fputs(value_str(kind, g.total, vbuf, sizeof(vbuf)), out);
    fprintf(out, " in %s allocation calls", hp_outfmt_count(t.n[0].calls, 0, cbuf, sizeof(cbuf)));
    if (a->rate > 1)
        fprintf(out, " (estimated: sampled every %llu bytes on average%s%s)",
                (unsigned long long)a->rate,
                exact_label(a, kind, cbuf, sizeof(cbuf)) ? "; exact " : "",
                exact_label(a, kind, cbuf, sizeof(cbuf)) ? cbuf : "");
    else
        fputs(" (every allocation recorded)", out);
    fputs(" - click a frame to zoom, Search to highlight</text>\n", out);

    fputs("<text id=\"unzoom\" class=\"ctl hide\" x=\"10\" y=\"22\">Reset zoom</text>\n", out);
    fprintf(
        out,
        "<text id=\"search\" class=\"ctl\" x=\"%.0f\" y=\"22\" text-anchor=\"end\">Search</text>\n",
        SVG_W - 60);
    fprintf(
        out,
        "<text id=\"clear\" class=\"ctl\" x=\"%.0f\" y=\"22\" text-anchor=\"end\">Clear</text>\n",
        SVG_W - 10);

    /* Legend of the colour classes. */
    {
        static const struct {
            int cls;
            const char *label;
        } legend[] = {
            {CLS_PROGRAM, "program"},       {CLS_LIBC, "libc"},       {CLS_CXXRT, "C++ runtime"},
            {CLS_OTHER, "other libraries"}, {CLS_UNKNOWN, "unknown"},
        };
        static const char *colours[] = {"hsl(30,88%,58%)", "hsl(210,65%,65%)", "hsl(115,50%,58%)",
                                        "hsl(280,30%,65%)", "hsl(355,75%,48%)"};
        double lx = SVG_W / 2 - 260;
        for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]); i++) {
            fprintf(out,
                    "<rect x=\"%.0f\" y=\"50\" width=\"12\" height=\"10\" fill=\"%s\"/>"
                    "<text class=\"legend\" x=\"%.0f\" y=\"59\">%s</text>\n",
                    lx, colours[i], lx + 16, legend[i].label);
            lx += 24 + 7 * strlen(legend[i].label) + 16;
        }
    }

    if (g.total > 0) {
        fputs("<g id=\"frames\">\n", out);
        rc = write_subtree(&g, 0);
        fputs("</g>\n", out);
        if (rc < 0)
            goto out;
    } else {
        fprintf(out, "<text class=\"sub\" x=\"%.0f\" y=\"%.0f\">no %s recorded</text>\n", SVG_W / 2,
                g.height - BOTTOM_H - 4, kind_title(kind));
    }
    fprintf(out, "<text id=\"details\" x=\"10\" y=\"%.0f\"> </text>\n", g.height - 14);
    fprintf(out, "<text id=\"matched\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\"> </text>\n",
            SVG_W - 10, g.height - 14);
    fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", flame_script);
    fputs("</svg>\n", out);
    rc = ferror(out) ? HP_ERR_IO : 0;
out:
    tree_free(&t);
    return rc;
}
