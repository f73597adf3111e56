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
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/pgzip.h"

#define HDR_LEN 24        /* 10 fixed + XLEN 2 + SI1 SI2 LEN 4 + 8 */
#define TRAILER_LEN 8
#define MAX_WORKERS 64

enum slot_state { SLOT_FREE, SLOT_READY, SLOT_BUSY, SLOT_DONE };

struct slot {
	enum slot_state state;
	uint64_t seq;
	unsigned char *in, *out;      /* out: header + deflate + trailer */
	size_t in_len, out_len;
	bool failed;
};

struct pgzip {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct slot *slots;
	size_t n_slots;
	size_t out_cap;
	bool stop;
};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* One member: header, raw deflate, CRC-32 and size. */
static bool compress_member(struct libdeflate_compressor *c, struct slot *s,
			    size_t out_cap)
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
					out_cap - HDR_LEN - TRAILER_LEN);
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

static void *worker(void *arg)
{
	struct pgzip *p = arg;
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(HM_PGZIP_LEVEL);

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct slot *s = NULL;
		size_t i;

		/* The oldest ready chunk first: the writer waits for it. */
		for (i = 0; i < p->n_slots; i++)
			if (p->slots[i].state == SLOT_READY &&
			    (!s || p->slots[i].seq < s->seq))
				s = &p->slots[i];
		if (!s) {
			if (p->stop)
				break;
			pthread_cond_wait(&p->work, &p->mu);
			continue;
		}
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&p->mu);
		s->failed = !c || !compress_member(c, s, p->out_cap);
		pthread_mutex_lock(&p->mu);
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	libdeflate_free_compressor(c);
	return NULL;
}

/* Read up to len bytes; short only at end of input.  -errno on error. */
static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int hm_pgzip_compress_fd(int in_fd, const char *in_name, int out_fd,
			 const char *out_name, unsigned threads,
			 struct hm_pgzip_result *res, struct hm_error *err)
{
	struct pgzip p = { .stop = false };
	pthread_t tids[MAX_WORKERS];
	struct hm_hash *hin = NULL, *hout = NULL;
	size_t n_workers = 0, i;
	uint64_t next_read = 0, next_write = 0;
	bool eof = false;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	if (threads > MAX_WORKERS)
		threads = MAX_WORKERS;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.done, NULL);
	p.n_slots = 2 * (size_t)threads;
	p.out_cap = HDR_LEN + TRAILER_LEN;
	{
		struct libdeflate_compressor *c = libdeflate_alloc_compressor(HM_PGZIP_LEVEL);

		if (c)
			p.out_cap += libdeflate_deflate_compress_bound(c, HM_PGZIP_CHUNK);
		libdeflate_free_compressor(c);
		if (!c) {
			r = hm_error_nomem(err);
			goto out;
		}
	}
	p.slots = calloc(p.n_slots, sizeof(*p.slots));
	hin = hm_hash_new(HM_HASH_SHA256);
	hout = hm_hash_new(HM_HASH_SHA256);
	if (!p.slots || !hin || !hout) {
		r = hm_error_nomem(err);
		goto out;
	}
	for (i = 0; i < p.n_slots; i++) {
		p.slots[i].in = malloc(HM_PGZIP_CHUNK);
		p.slots[i].out = malloc(p.out_cap);
		if (!p.slots[i].in || !p.slots[i].out) {
			r = hm_error_nomem(err);
			goto out;
		}
	}
	for (n_workers = 0; n_workers < threads; n_workers++)
		if (pthread_create(&tids[n_workers], NULL, worker, &p) != 0)
			break;
	if (n_workers == 0) {
		r = hm_error_set(err, HM_ERR_NOMEM, 0, "cannot start a compression thread");
		goto out;
	}

	while (!eof || next_write < next_read) {
		struct slot *s;

		/* Keep every slot busy: read ahead while one is free.  An empty
		 * input still makes one (empty) member: a gzip file is never
		 * zero bytes long. */
		while (!eof && next_read - next_write < p.n_slots) {
			ssize_t n;

			s = &p.slots[next_read % p.n_slots];
			n = read_full(in_fd, s->in, HM_PGZIP_CHUNK);
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
			pthread_mutex_lock(&p.mu);
			s->in_len = (size_t)n;
			s->seq = next_read++;
			s->state = SLOT_READY;
			pthread_cond_signal(&p.work);
			pthread_mutex_unlock(&p.mu);
		}
		if (next_write == next_read)
			break;
		s = &p.slots[next_write % p.n_slots];
		pthread_mutex_lock(&p.mu);
		while (s->state != SLOT_DONE)
			pthread_cond_wait(&p.done, &p.mu);
		pthread_mutex_unlock(&p.mu);
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
		s->state = SLOT_FREE;
		pthread_mutex_unlock(&p.mu);
		next_write++;
	}
	if (hm_hash_final(hin, res->in_sha256) < 0 ||
	    hm_hash_final(hout, res->out_sha256) < 0)
		r = hm_error_nomem(err);
out:
	pthread_mutex_lock(&p.mu);
	p.stop = true;
	/* A failed run may leave chunks queued: nobody will write them. */
	for (i = 0; p.slots && i < p.n_slots; i++)
		if (p.slots[i].state == SLOT_READY)
			p.slots[i].state = SLOT_FREE;
	pthread_cond_broadcast(&p.work);
	pthread_mutex_unlock(&p.mu);
	for (i = 0; i < n_workers; i++)
		pthread_join(tids[i], NULL);
	for (i = 0; p.slots && i < p.n_slots; i++) {
		free(p.slots[i].in);
		free(p.slots[i].out);
	}
	free(p.slots);
	hm_hash_free(hin);
	hm_hash_free(hout);
	pthread_cond_destroy(&p.work);
	pthread_cond_destroy(&p.done);
	pthread_mutex_destroy(&p.mu);
	return r;
}
