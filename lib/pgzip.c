/*
 * Gzip in independent members on every core (include/hallmark/pgzip.h).
 *
 * Deflate is libdeflate's (whole-buffer compression, faster than zlib at
 * the same level and ratio); the CRC is libdeflate's too.  What is
 * written by hand is only RFC 1952's framing around each member, because
 * the extra field must hold the member's size, known only after it is
 * compressed: zlib's gzip wrapper writes its header first.
 *
 * One thread reads, hashes and writes, in input order; the workers
 * compress.  A ring of 2 x workers slots bounds memory to about
 * 4 x workers x HM_PGZIP_CHUNK.  Every member depends on its own chunk
 * only, so the output is the same for any number of workers.
 *
 * zstd (HM_PGZIP_ZSTD) goes through the same pool: one frame per chunk
 * (libzstd, pinned level and frame parameters), and on reading, frames
 * found by walking their frame and block headers (RFC 8878: each block
 * header gives its size, so the frame's end is known without
 * decompressing), each decompressed whole by a worker into a buffer of
 * the size the frame declares.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zstd.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/pgzip.h"

#define HDR_LEN 24        /* 10 fixed + XLEN 2 + SI1 SI2 LEN 4 + 8 */
#define TRAILER_LEN 8
#define MAX_WORKERS 64

enum slot_state { SLOT_FREE, SLOT_READY, SLOT_BUSY, SLOT_DONE };

/* One chunk or member on its way through a pool: filled in order, worked
 * on by any worker, handed out in order. */
struct slot {
	enum slot_state state;
	uint64_t seq, offset;         /* offset: of a member in its stream */
	unsigned char *in, *out;      /* compressing, out is header + deflate + trailer */
	size_t in_len, out_len, in_cap, out_cap;
	bool failed;
	const char *why;              /* when failed, if the codec says */
};

/* The slots and the workers of one compression or decompression; a
 * slot's state changes under mu only. */
struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct slot *slots;
	size_t n_slots, n_workers;
	pthread_t tids[MAX_WORKERS];
	bool stop;
	enum hm_pgzip_codec codec;
};

/* Workers for a thread count: 0 is one per CPU. */
static unsigned worker_count(unsigned threads)
{
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	return threads > MAX_WORKERS ? MAX_WORKERS : threads;
}

/* 0, or -1 on no memory (pool_fini() then still frees it). */
static int pool_init(struct pool *p, size_t n_slots)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->n_slots = n_slots;
	p->slots = calloc(n_slots, sizeof(*p->slots));
	return p->slots ? 0 : -1;
}

/* Start up to n workers running fn(arg); how many started. */
static size_t pool_start(struct pool *p, unsigned n, void *(*fn)(void *), void *arg)
{
	while (p->n_workers < n &&
	       pthread_create(&p->tids[p->n_workers], NULL, fn, arg) == 0)
		p->n_workers++;
	return p->n_workers;
}

/* With mu held: the oldest ready slot (the one the reader waits for
 * first), now busy; NULL once the pool stops. */
static struct slot *pool_take(struct pool *p)
{
	for (;;) {
		struct slot *s = NULL;
		size_t i;

		for (i = 0; i < p->n_slots; i++)
			if (p->slots[i].state == SLOT_READY &&
			    (!s || p->slots[i].seq < s->seq))
				s = &p->slots[i];
		if (s) {
			s->state = SLOT_BUSY;
			return s;
		}
		if (p->stop)
			return NULL;
		pthread_cond_wait(&p->work, &p->mu);
	}
}

/* With mu held: s is worked on. */
static void pool_done(struct pool *p, struct slot *s)
{
	s->state = SLOT_DONE;
	pthread_cond_broadcast(&p->done);
}

/* s, filled, for the workers. */
static void pool_submit(struct pool *p, struct slot *s, uint64_t seq)
{
	pthread_mutex_lock(&p->mu);
	s->seq = seq;
	s->state = SLOT_READY;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

static void pool_wait(struct pool *p, struct slot *s)
{
	pthread_mutex_lock(&p->mu);
	while (s->state != SLOT_DONE)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* With mu held: s may be filled again. */
static void pool_release(struct pool *p, struct slot *s)
{
	s->state = SLOT_FREE;
	pthread_cond_broadcast(&p->work);
}

/* Stop the workers (queued slots are dropped: nobody will read them),
 * join them, free everything. */
static void pool_fini(struct pool *p)
{
	size_t i;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	for (i = 0; p->slots && i < p->n_slots; i++)
		if (p->slots[i].state == SLOT_READY)
			p->slots[i].state = SLOT_FREE;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n_workers; i++)
		pthread_join(p->tids[i], NULL);
	for (i = 0; p->slots && i < p->n_slots; i++) {
		free(p->slots[i].in);
		free(p->slots[i].out);
	}
	free(p->slots);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
}

static bool grow(unsigned char **p, size_t *cap, size_t want)
{
	unsigned char *n;

	if (*cap >= want)
		return true;
	n = realloc(*p, want);
	if (!n)
		return false;
	*p = n;
	*cap = want;
	return true;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* One member: header, raw deflate, CRC-32 and size. */
static bool compress_member(struct libdeflate_compressor *c, struct slot *s)
{
	static const unsigned char fixed[16] = {
		0x1f, 0x8b, 8,          /* magic, CM deflate */
		0x04,                   /* FLG: FEXTRA only */
		0, 0, 0, 0,             /* MTIME: none */
		0,                      /* XFL */
		255,                    /* OS: unknown (nothing about the host) */
		12, 0,                  /* XLEN */
		'H', 'M', 8, 0,         /* subfield: SI1 SI2, LEN */
	};
	size_t n;

	n = libdeflate_deflate_compress(c, s->in, s->in_len, s->out + HDR_LEN,
					s->out_cap - HDR_LEN - TRAILER_LEN);
	if (n == 0)
		return false;
	memcpy(s->out, fixed, sizeof(fixed));
	s->out_len = HDR_LEN + n + TRAILER_LEN;
	put32(s->out + 16, (uint32_t)s->out_len);
	put32(s->out + 20, (uint32_t)s->in_len);
	put32(s->out + HDR_LEN + n, libdeflate_crc32(0, s->in, s->in_len));
	put32(s->out + HDR_LEN + n + 4, (uint32_t)s->in_len);
	return true;
}

/* A zstd compressor whose every parameter that shapes the frame is set
 * here, not left to the library's defaults of the day; NULL on no
 * memory. */
static ZSTD_CCtx *zstd_compressor(void)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (c && (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, HM_PZSTD_LEVEL)) ||
		  ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1)) ||
		  ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) ||
		  ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0)) ||
		  ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, 0)))) {
		ZSTD_freeCCtx(c);
		c = NULL;
	}
	return c;
}

/* One frame: the whole chunk in one call, so the frame header carries
 * its size (single segment) and nothing depends on earlier chunks. */
static bool compress_frame(ZSTD_CCtx *c, struct slot *s)
{
	size_t n = ZSTD_compress2(c, s->out, s->out_cap, s->in, s->in_len);

	if (ZSTD_isError(n))
		return false;
	s->out_len = n;
	return true;
}

static void *compress_worker(void *arg)
{
	struct pool *p = arg;
	struct libdeflate_compressor *c = NULL;
	ZSTD_CCtx *zc = NULL;
	struct slot *s;

	if (p->codec == HM_PGZIP_ZSTD)
		zc = zstd_compressor();
	else
		c = libdeflate_alloc_compressor(HM_PGZIP_LEVEL);
	pthread_mutex_lock(&p->mu);
	while ((s = pool_take(p))) {
		pthread_mutex_unlock(&p->mu);
		if (p->codec == HM_PGZIP_ZSTD)
			s->failed = !zc || !compress_frame(zc, s);
		else
			s->failed = !c || !compress_member(c, s);
		pthread_mutex_lock(&p->mu);
		pool_done(p, s);
	}
	pthread_mutex_unlock(&p->mu);
	libdeflate_free_compressor(c);
	ZSTD_freeCCtx(zc);
	return NULL;
}

int hm_pgzip_compress_fd(int in_fd, const char *in_name, int out_fd,
			 const char *out_name, unsigned threads,
			 struct hm_pgzip_result *res, struct hm_error *err)
{
	return hm_pgzip_compress_fd_codec(in_fd, in_name, out_fd, out_name,
					  HM_PGZIP_GZIP, threads, res, err);
}

int hm_pgzip_compress_fd_codec(int in_fd, const char *in_name, int out_fd,
			       const char *out_name, enum hm_pgzip_codec codec,
			       unsigned threads, struct hm_pgzip_result *res,
			       struct hm_error *err)
{
	struct pool p;
	struct hm_hash *hin = NULL, *hout = NULL;
	size_t out_cap = HDR_LEN + TRAILER_LEN, i;
	uint64_t next_read = 0, next_write = 0;
	bool eof = false;
	int r = 0;

	memset(res, 0, sizeof(*res));
	threads = worker_count(threads);
	if (pool_init(&p, 2 * (size_t)threads) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	p.codec = codec;
	if (codec == HM_PGZIP_ZSTD) {
		out_cap = ZSTD_compressBound(HM_PGZIP_CHUNK);
	} else {
		struct libdeflate_compressor *c = libdeflate_alloc_compressor(HM_PGZIP_LEVEL);

		if (c)
			out_cap += libdeflate_deflate_compress_bound(c, HM_PGZIP_CHUNK);
		libdeflate_free_compressor(c);
		if (!c) {
			r = hm_error_nomem(err);
			goto out;
		}
	}
	hin = hm_hash_new(HM_HASH_SHA256);
	hout = hm_hash_new(HM_HASH_SHA256);
	if (!hin || !hout) {
		r = hm_error_nomem(err);
		goto out;
	}
	for (i = 0; i < p.n_slots; i++) {
		if (!grow(&p.slots[i].in, &p.slots[i].in_cap, HM_PGZIP_CHUNK) ||
		    !grow(&p.slots[i].out, &p.slots[i].out_cap, out_cap)) {
			r = hm_error_nomem(err);
			goto out;
		}
	}
	if (pool_start(&p, threads, compress_worker, &p) == 0) {
		r = hm_error_set(err, HM_ERR_NOMEM, 0, "cannot start a compression thread");
		goto out;
	}

	while (!eof || next_write < next_read) {
		struct slot *s;

		/* Keep every slot busy: read ahead while one is free.  An empty
		 * input still makes one (empty) member: a gzip file is never
		 * zero bytes long (nor is a zstd stream: one empty frame). */
		while (!eof && next_read - next_write < p.n_slots) {
			ssize_t n;

			s = &p.slots[next_read % p.n_slots];
			n = hm_read_full(in_fd, s->in, HM_PGZIP_CHUNK);
			if (n < 0) {
				r = hm_error_set(err, HM_ERR_IO, (int)-n, "cannot read '%s'", in_name);
				goto out;
			}
			if (n < (ssize_t)HM_PGZIP_CHUNK)
				eof = true;
			if (n == 0 && next_read > 0)
				break;
			if (hm_hash_update(hin, s->in, (size_t)n) < 0) {
				r = hm_error_nomem(err);
				goto out;
			}
			res->in_bytes += (uint64_t)n;
			s->in_len = (size_t)n;
			pool_submit(&p, s, next_read++);
		}
		if (next_write == next_read)
			break;
		s = &p.slots[next_write % p.n_slots];
		pool_wait(&p, s);
		if (s->failed) {
			r = hm_error_nomem(err);
			goto out;
		}
		r = hm_write_all(out_fd, s->out, s->out_len);
		if (r < 0) {
			r = hm_error_set(err, HM_ERR_IO, -r, "cannot write '%s'", out_name);
			goto out;
		}
		if (hm_hash_update(hout, s->out, s->out_len) < 0) {
			r = hm_error_nomem(err);
			goto out;
		}
		res->out_bytes += s->out_len;
		res->members++;
		pthread_mutex_lock(&p.mu);
		pool_release(&p, s);
		pthread_mutex_unlock(&p.mu);
		next_write++;
	}
	if (hm_hash_final(hin, res->in_sha256) < 0 ||
	    hm_hash_final(hout, res->out_sha256) < 0)
		r = hm_error_nomem(err);
out:
	pool_fini(&p);
	hm_hash_free(hin);
	hm_hash_free(hout);
	return r;
}

/* ---- reading ------------------------------------------------------------ */

static uint32_t get32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool hm_pgzip_member_sizes(const unsigned char *p, size_t len,
			   uint32_t *member, uint32_t *data)
{
	/* Exactly the header compress_member() writes, flags and all: the
	 * parallel path is for streams this file made. */
	if (len < HM_PGZIP_HEADER || p[0] != 0x1f || p[1] != 0x8b || p[2] != 8 ||
	    p[3] != 0x04 || p[10] != 12 || p[11] != 0 || p[12] != 'H' ||
	    p[13] != 'M' || p[14] != 8 || p[15] != 0)
		return false;
	*member = get32(p + 16);
	*data = get32(p + 20);
	return true;
}

struct hm_pgunzip {
	struct pool pool;
	bool in_eof, broken;
	uint64_t next_read, next_out, offset;
	struct slot *held;             /* handed out, freed at the next call */
	hm_pgunzip_read_fn rd;
	void *rd_ctx;
	char why[160];
	/* Stream mode: one thread reads and inflates any gzip stream (ISA-L)
	 * into the slots in order, while the caller consumes them. */
	bool stream, produced_all;
	uint64_t produced;
};

static void *inflate_worker(void *arg)
{
	struct pool *p = arg;
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	struct slot *s;

	pthread_mutex_lock(&p->mu);
	while ((s = pool_take(p))) {
		size_t in_used = 0, out_used = 0;

		pthread_mutex_unlock(&p->mu);
		/* libdeflate checks the header, the CRC-32 and ISIZE; the
		 * sizes claimed in the extra field must be exact. */
		s->failed = !d ||
			libdeflate_gzip_decompress_ex(d, s->in, s->in_len, s->out,
						      s->out_len, &in_used,
						      &out_used) != LIBDEFLATE_SUCCESS ||
			in_used != s->in_len || out_used != s->out_len;
		pthread_mutex_lock(&p->mu);
		pool_done(p, s);
	}
	pthread_mutex_unlock(&p->mu);
	libdeflate_free_decompressor(d);
	return NULL;
}

/* A reader on n_slots slots, its workers not started. */
static struct hm_pgunzip *pgunzip_alloc(hm_pgunzip_read_fn rd, void *ctx,
					size_t n_slots)
{
	struct hm_pgunzip *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	if (pool_init(&z->pool, n_slots) < 0) {
		pool_fini(&z->pool);
		free(z);
		return NULL;
	}
	z->rd = rd;
	z->rd_ctx = ctx;
	return z;
}

/* A member or frame reader: two slots per worker, workers running FN. */
static int pgunzip_start(hm_pgunzip_read_fn rd, void *ctx, unsigned threads,
			 enum hm_pgzip_codec codec, void *(*fn)(void *),
			 struct hm_pgunzip **ret, struct hm_error *err)
{
	struct hm_pgunzip *z;

	threads = worker_count(threads);
	z = pgunzip_alloc(rd, ctx, 2 * (size_t)threads);
	if (!z)
		return hm_error_nomem(err);
	z->pool.codec = codec;
	if (pool_start(&z->pool, threads, fn, &z->pool) == 0) {
		hm_pgunzip_free(z);
		return hm_error_set(err, HM_ERR_NOMEM, 0, "cannot start a decompression thread");
	}
	*ret = z;
	return 0;
}

int hm_pgunzip_new(hm_pgunzip_read_fn rd, void *ctx, unsigned threads,
		   struct hm_pgunzip **ret, struct hm_error *err)
{
	return pgunzip_start(rd, ctx, threads, HM_PGZIP_GZIP, inflate_worker, ret, err);
}

__attribute__((format(printf, 2, 3)))
static int broken(struct hm_pgunzip *z, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(z->why, sizeof(z->why), fmt, ap);
	va_end(ap);
	z->broken = true;
	return -1;
}

/* Read the next member into s; 0 at the end of the stream. */
static int read_member(struct hm_pgunzip *z, struct slot *s)
{
	unsigned char hdr[HM_PGZIP_HEADER];
	uint32_t member, data;
	ssize_t n;

	n = z->rd(z->rd_ctx, hdr, sizeof(hdr));
	if (n < 0)
		return broken(z, "read error");
	if (n == 0)
		return 0;
	if (!hm_pgzip_member_sizes(hdr, (size_t)n, &member, &data))
		return broken(z, "at offset %llu: not a gzip member with hallmark's size field",
			      (unsigned long long)z->offset);
	if (data > HM_PGZIP_MAX_DATA || member > HM_PGZIP_MAX_MEMBER ||
	    member < HM_PGZIP_HEADER + TRAILER_LEN + 2)
		return broken(z, "at offset %llu: the member claims %u bytes holding %u "
			      "(limits %u and %u)", (unsigned long long)z->offset,
			      member, data, HM_PGZIP_MAX_MEMBER, HM_PGZIP_MAX_DATA);
	if (!grow(&s->in, &s->in_cap, member) || !grow(&s->out, &s->out_cap, data ? data : 1))
		return broken(z, "out of memory");
	memcpy(s->in, hdr, sizeof(hdr));
	n = z->rd(z->rd_ctx, s->in + sizeof(hdr), member - sizeof(hdr));
	if (n < 0)
		return broken(z, "read error");
	if ((size_t)n != member - sizeof(hdr))
		return broken(z, "at offset %llu: the stream ends inside a member",
			      (unsigned long long)z->offset);
	s->in_len = member;
	s->out_len = data;
	s->offset = z->offset;
	z->offset += member;
	return 1;
}

/* ---- zstd frames ---------------------------------------------------------- */

#define ZSTD_BLOCK_MAX (128u * 1024)   /* RFC 8878 Block_Maximum_Size at most */

/*
 * The next len bytes of a zstd stream for frame_walk(): 1 with *p set
 * (when need; else the bytes may only be skipped), 0 when the stream has
 * no byte left, -1 when it has fewer than len or cannot be read.
 */
typedef int (*zget_fn)(void *ctx, size_t len, bool need, const unsigned char **p);

/*
 * Walk one frame from its magic number to its end through get, without
 * decompressing: 1 with its length and declared content size, 0 at the
 * end of the stream, -1 with *why when it is not a frame this reader
 * splits (or the stream ends inside it).
 */
static int frame_walk(zget_fn get, void *ctx, uint64_t *frame_len,
		      uint64_t *content, const char **why)
{
	static const unsigned char did_len[4] = { 0, 1, 2, 4 };
	unsigned char hdr[18];           /* RFC 8878: at most 4 + 14 bytes */
	const unsigned char *p;
	size_t hlen, fcs_len;
	uint64_t len;
	uint32_t magic;
	unsigned fhd;
	int r;

	/* Magic and descriptor: every frame is longer than that. */
	r = get(ctx, 5, true, &p);
	if (r <= 0) {
		*why = "the stream ends inside a frame header";
		return r;
	}
	memcpy(hdr, p, 5);
	magic = get32(hdr);
	if (magic != ZSTD_MAGICNUMBER) {
		*why = (magic & 0xfffffff0u) == ZSTD_MAGIC_SKIPPABLE_START ?
			"a skippable frame" : "not a zstd frame";
		return -1;
	}
	fhd = hdr[4];
	if (fhd & 0x08) {
		*why = "a frame header with its reserved bit set";
		return -1;
	}
	fcs_len = (fhd >> 6) == 0 ? ((fhd & 0x20) ? 1 : 0) : (size_t)1 << (fhd >> 6);
	if (fcs_len == 0) {
		*why = "a frame that does not declare its content size";
		return -1;
	}
	hlen = 5 + !(fhd & 0x20) + did_len[fhd & 3] + fcs_len;
	if (get(ctx, hlen - 5, true, &p) <= 0) {
		*why = "the stream ends inside a frame header";
		return -1;
	}
	memcpy(hdr + 5, p, hlen - 5);
	*content = ZSTD_getFrameContentSize(hdr, hlen);
	if (*content == ZSTD_CONTENTSIZE_ERROR || *content == ZSTD_CONTENTSIZE_UNKNOWN) {
		*why = "a bad frame header";
		return -1;
	}
	if (*content > HM_PGZIP_MAX_DATA) {
		*why = "a frame declaring more than 4 MiB of content (the split limit)";
		return -1;
	}
	len = hlen;
	for (;;) {
		uint32_t bh, bsize, type;
		size_t payload;

		if (get(ctx, 3, true, &p) <= 0) {
			*why = "the stream ends inside a frame";
			return -1;
		}
		bh = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
		type = (bh >> 1) & 3;
		bsize = bh >> 3;
		if (type == 3 || bsize > ZSTD_BLOCK_MAX) {
			*why = "a bad block header";
			return -1;
		}
		payload = type == 1 ? 1 : bsize;   /* RLE: one byte, repeated */
		len += 3 + payload;
		if (len > HM_PGZIP_MAX_MEMBER) {
			*why = "a frame longer than the split limit";
			return -1;
		}
		if (payload && get(ctx, payload, false, &p) <= 0) {
			*why = "the stream ends inside a frame";
			return -1;
		}
		if (bh & 1)
			break;
	}
	if (fhd & 0x04) {   /* Content_Checksum */
		len += 4;
		if (get(ctx, 4, false, &p) <= 0) {
			*why = "the stream ends inside a frame";
			return -1;
		}
	}
	*frame_len = len;
	return 1;
}

/* frame_walk() over a region of a file, reading only the headers. */
struct zscan {
	int fd;
	uint64_t off, pos, len;
	unsigned char buf[16];
};

static int zscan_get(void *ctx, size_t len, bool need, const unsigned char **p)
{
	struct zscan *g = ctx;

	if (len > g->len - g->pos)
		return g->pos == g->len ? 0 : -1;
	if (need && hm_pread_full(g->fd, g->buf, len, g->off + g->pos) != (ssize_t)len)
		return -1;
	g->pos += len;
	*p = g->buf;
	return 1;
}

bool hm_pzstd_splittable(int fd, uint64_t off, uint64_t len)
{
	struct zscan g = { .fd = fd, .off = off, .len = len };
	uint64_t flen, content;
	const char *why;
	int r, frames = 0;

	while ((r = frame_walk(zscan_get, &g, &flen, &content, &why)) > 0)
		frames++;
	return r == 0 && frames > 0;
}

/* frame_walk() through the reader's callback, into a slot's input. */
struct zread {
	struct hm_pgunzip *z;
	struct slot *s;
	bool io;
};

static int zread_get(void *ctx, size_t len, bool need, const unsigned char **p)
{
	struct zread *g = ctx;
	struct slot *s = g->s;
	ssize_t n;

	(void)need;   /* the worker needs all of it */
	if (!grow(&s->in, &s->in_cap, s->in_len + len)) {
		g->io = true;
		return -1;
	}
	n = g->z->rd(g->z->rd_ctx, s->in + s->in_len, len);
	if (n < 0)
		g->io = true;
	if (n <= 0)
		return n == 0 && s->in_len == 0 ? 0 : -1;
	if ((size_t)n < len)
		return -1;
	*p = s->in + s->in_len;
	s->in_len += len;
	return 1;
}

/* Read the next frame into s; 0 at the end of the stream. */
static int read_frame(struct hm_pgunzip *z, struct slot *s)
{
	struct zread g = { .z = z, .s = s };
	uint64_t flen, content;
	const char *why = "";
	int r;

	s->in_len = 0;
	r = frame_walk(zread_get, &g, &flen, &content, &why);
	if (r == 0)
		return 0;
	if (r < 0 && g.io)
		return broken(z, "read error");
	if (r < 0)
		return broken(z, "at offset %llu: %s", (unsigned long long)z->offset, why);
	if (!grow(&s->out, &s->out_cap, content ? (size_t)content : 1))
		return broken(z, "out of memory");
	s->out_len = (size_t)content;
	s->offset = z->offset;
	z->offset += flen;
	return 1;
}

static void *zstd_worker(void *arg)
{
	struct pool *p = arg;
	ZSTD_DCtx *d = ZSTD_createDCtx();
	struct slot *s;

	pthread_mutex_lock(&p->mu);
	while ((s = pool_take(p))) {
		size_t n = 0;

		pthread_mutex_unlock(&p->mu);
		/* The whole frame, into exactly the size it declares: more or
		 * less is corrupt, whatever the blocks say. */
		s->why = NULL;
		if (!d) {
			s->why = "out of memory";
		} else if (ZSTD_findFrameCompressedSize(s->in, s->in_len) != s->in_len) {
			s->why = "the frame's blocks do not end where its headers say";
		} else {
			n = ZSTD_decompressDCtx(d, s->out, s->out_len, s->in, s->in_len);
			if (ZSTD_isError(n))
				s->why = ZSTD_getErrorName(n);
			else if (n != s->out_len)
				s->why = "the frame holds less than its declared size";
		}
		s->failed = s->why != NULL;
		pthread_mutex_lock(&p->mu);
		pool_done(p, s);
	}
	pthread_mutex_unlock(&p->mu);
	ZSTD_freeDCtx(d);
	return NULL;
}

int hm_pgunzip_new_zstd(hm_pgunzip_read_fn rd, void *ctx, unsigned threads,
			struct hm_pgunzip **ret, struct hm_error *err)
{
	return pgunzip_start(rd, ctx, threads, HM_PGZIP_ZSTD, zstd_worker, ret, err);
}

static int stream_next(struct hm_pgunzip *z, const void **buf, size_t *len);

int hm_pgunzip_next(struct hm_pgunzip *z, const void **buf, size_t *len,
		    const char **why)
{
	struct pool *p = &z->pool;
	struct slot *s;

	*why = z->why;
	if (z->stream)
		return stream_next(z, buf, len);
	for (;;) {
		if (z->held) {
			pthread_mutex_lock(&p->mu);
			pool_release(p, z->held);
			pthread_mutex_unlock(&p->mu);
			z->held = NULL;
		}
		if (z->broken)
			return -1;
		/* Keep the workers fed: read ahead while a slot is free. */
		while (!z->in_eof && z->next_read - z->next_out < p->n_slots) {
			int r;

			s = &p->slots[z->next_read % p->n_slots];
			r = p->codec == HM_PGZIP_ZSTD ? read_frame(z, s) :
				read_member(z, s);
			if (r < 0)
				break;
			if (r == 0) {
				z->in_eof = true;
				break;
			}
			pool_submit(p, s, z->next_read++);
		}
		if (z->next_out == z->next_read)
			return z->broken ? -1 : 0;
		s = &p->slots[z->next_out % p->n_slots];
		pool_wait(p, s);
		z->next_out++;
		z->held = s;
		if (s->failed) {
			/* Members before this one were handed out already: the
			 * reader stops here, as a streaming inflater would. */
			if (p->codec == HM_PGZIP_ZSTD)
				broken(z, "at offset %llu: corrupt zstd frame (%s)",
				       (unsigned long long)s->offset, s->why);
			else
				broken(z, "at offset %llu: corrupt gzip member (deflate data, "
				       "CRC-32 or size)", (unsigned long long)s->offset);
			return -1;
		}
		if (s->out_len == 0)
			continue;
		*buf = s->out;
		*len = s->out_len;
		return 1;
	}
}

void hm_pgunzip_free(struct hm_pgunzip *z)
{
	if (!z)
		return;
	pool_fini(&z->pool);
	free(z);
}

/* ---- one gzip stream, inflated ahead on a thread of its own ------------- */

#define STREAM_IN (256u * 1024)
#define STREAM_OUT (1024u * 1024)

static const char *isal_why(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK: return "invalid deflate block";
	case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK: return "invalid lookback distance";
	case ISAL_INVALID_WRAPPER: return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD: return "not deflate";
	case ISAL_INCORRECT_CHECKSUM: return "CRC-32 or length mismatch";
	default: return "corrupt data";
	}
}

/*
 * Members follow one another; what follows the last one is left to the
 * caller's digest, unread by the inflater, as libarchive's gzip reader
 * does (the two readers agree on every stream).
 */
static void *sworker(void *arg)
{
	struct hm_pgunzip *z = arg;
	struct inflate_state *st = malloc(sizeof(*st));
	unsigned char *in = malloc(STREAM_IN);
	bool in_eof = false, done = false;
	uint64_t seq = 0, consumed = 0;

	if (!st || !in) {
		pthread_mutex_lock(&z->pool.mu);
		broken(z, "out of memory");
		goto out;
	}
	isal_inflate_init(st);
	st->crc_flag = ISAL_GZIP;
	st->next_in = in;
	st->avail_in = 0;
	pthread_mutex_lock(&z->pool.mu);
	while (!done && !z->pool.stop) {
		struct slot *s = &z->pool.slots[seq % z->pool.n_slots];

		while (s->state != SLOT_FREE && !z->pool.stop)
			pthread_cond_wait(&z->pool.work, &z->pool.mu);
		if (z->pool.stop)
			break;
		pthread_mutex_unlock(&z->pool.mu);
		if (!s->out && !grow(&s->out, &s->out_cap, STREAM_OUT)) {
			pthread_mutex_lock(&z->pool.mu);
			broken(z, "out of memory");
			break;
		}
		st->next_out = s->out;
		st->avail_out = STREAM_OUT;
		while (st->avail_out > 0 && !done) {
			int r;

			if (st->block_state == ISAL_BLOCK_FINISH) {
				/* A member ended: another one, or the end. */
				if (st->avail_in < 2 && !in_eof) {
					ssize_t n;

					memmove(in, st->next_in, st->avail_in);
					n = z->rd(z->rd_ctx, in + st->avail_in, STREAM_IN - st->avail_in);
					if (n < 0) {
						pthread_mutex_lock(&z->pool.mu);
						broken(z, "read error");
						goto out;
					}
					in_eof = n == 0;
					st->next_in = in;
					st->avail_in += (uint32_t)n;
					continue;
				}
				if (st->avail_in < 2 || st->next_in[0] != 0x1f || st->next_in[1] != 0x8b) {
					done = true;
					break;
				}
				{
					uint8_t *next = st->next_in;
					uint32_t avail = st->avail_in;

					isal_inflate_reset(st);
					st->crc_flag = ISAL_GZIP;
					st->next_in = next;
					st->avail_in = avail;
				}
			}
			if (st->avail_in == 0) {
				ssize_t n;

				if (in_eof) {
					pthread_mutex_lock(&z->pool.mu);
					broken(z, "at offset %llu: the gzip stream ends inside a member",
					       (unsigned long long)consumed);
					goto out;
				}
				n = z->rd(z->rd_ctx, in, STREAM_IN);
				if (n < 0) {
					pthread_mutex_lock(&z->pool.mu);
					broken(z, "read error");
					goto out;
				}
				in_eof = n == 0;
				st->next_in = in;
				st->avail_in = (uint32_t)n;
				consumed += (uint64_t)n;
				continue;
			}
			r = isal_inflate(st);
			if (r < 0) {
				pthread_mutex_lock(&z->pool.mu);
				broken(z, "%s", isal_why(r));
				goto out;
			}
		}
		pthread_mutex_lock(&z->pool.mu);
		s->out_len = STREAM_OUT - st->avail_out;
		s->seq = seq++;
		z->produced = seq;
		pool_done(&z->pool, s);
	}
out:
	z->produced_all = true;
	pthread_cond_broadcast(&z->pool.done);
	pthread_mutex_unlock(&z->pool.mu);
	free(st);
	free(in);
	return NULL;
}

static int stream_next(struct hm_pgunzip *z, const void **buf, size_t *len)
{
	pthread_mutex_lock(&z->pool.mu);
	for (;;) {
		struct slot *s;

		if (z->held) {
			pool_release(&z->pool, z->held);
			z->held = NULL;
		}
		while (z->next_out == z->produced && !z->produced_all)
			pthread_cond_wait(&z->pool.done, &z->pool.mu);
		if (z->next_out == z->produced) {
			/* Everything handed out: the end, or why not. */
			pthread_mutex_unlock(&z->pool.mu);
			return z->broken ? -1 : 0;
		}
		s = &z->pool.slots[z->next_out % z->pool.n_slots];
		z->next_out++;
		z->held = s;
		if (s->out_len == 0)
			continue;
		pthread_mutex_unlock(&z->pool.mu);
		*buf = s->out;
		*len = s->out_len;
		return 1;
	}
}

int hm_pgunzip_new_stream(hm_pgunzip_read_fn rd, void *ctx,
			  struct hm_pgunzip **ret, struct hm_error *err)
{
	struct hm_pgunzip *z = pgunzip_alloc(rd, ctx, 4);

	if (!z)
		return hm_error_nomem(err);
	z->stream = true;
	if (pool_start(&z->pool, 1, sworker, z) == 0) {
		hm_pgunzip_free(z);
		return hm_error_set(err, HM_ERR_NOMEM, 0, "cannot start a decompression thread");
	}
	*ret = z;
	return 0;
}
