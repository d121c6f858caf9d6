/* Fuzz target: the protocol-2 authentication state machines of a real peer
 * (peer/auth.c, both roles) after a real mutual TLS handshake. VICTIM and
 * its paired partner FUZZ run as in tests/fuzz/twopeers.h; VICTIM also
 * defines NEWBIE (nothing pinned: first contact, SRP) and HOST (a server
 * the harness plays). The harness speaks TLS itself (wolfSSL with the
 * peers' own policy, blocking, on a thread while the loop runs), so the
 * frames it sends are whatever the input says. Each input is one session:
 *   byte 0, the mode: 0 client with FUZZ's pinned certificate, 1 client
 *           with NEWBIE's certificate (first contact), 2 client without a
 *           certificate, 3 server: VICTIM connects to HOST (talk_connect)
 *           and the harness answers as HOST after reading VICTIM's HELLO;
 *   byte 1, flags (client modes): bit 0 sends a well-formed HELLO first
 *           (from the certificate's name to VICTIM, revision 2), bit 1 its
 *           method is SRP (else KEY), bit 2 purpose SYNC (else PING), bit 3
 *           the FORCESYNC flag;
 *   the rest: frames [type u8][length u16 BE][payload] inside TLS; type
 *           0xFF sends the payload as raw bytes.
 * Then the harness half-closes; VICTIM must close within 3 s and leave no
 * session behind, and every 64 inputs a pinned PING between FUZZ and VICTIM
 * must still succeed — else abort(). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/time.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "../../peer/tls.h"
#include "twopeers.h"

#define HEALTH_EVERY 64

static struct {
	struct tp_side newbie, host; /* instances for their identities only */
	struct own_identity id_fuzz, id_newbie, id_host;
	struct tls_policy pol;
	int listen_fd, host_port;
	unsigned long inputs;
} A;

struct run {
	int mode, flags;
	const uint8_t *d;
	size_t n;
	volatile int finished;
	int hung;        /* VICTIM did not close within 3 s */
	int victim_done; /* mode 3: VICTIM's talk_connect ended */
};

static void load_identity(struct instance *in, struct own_identity *id)
{
	MDB_txn *txn;
	if (store_begin(&in->store, 0, &txn) < 0 || instance_own(in, txn, OWN_CURRENT, id) < 0)
		abort();
	store_abort(txn);
}

static void define_more(struct instance *v)
{
	tp_instance(&A.newbie, "NEWBIE", "newbie-server-pw");
	tp_instance(&A.host, "HOST", "host-server-pw");
	A.host_port = A.host.port;
	if (harness_define(v, "NEWBIE", A.newbie.port, "newbie-server-pw") < 0 ||
	    harness_define(v, "HOST", A.host_port, "host-server-pw") < 0)
		abort();
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int tls_write_all(WOLFSSL *ssl, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		int w = wolfSSL_write(ssl, b, n > 16384 ? 16384 : (int)n);
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_frame(WOLFSSL *ssl, int type, const struct wbuf *payload)
{
	struct wbuf f;
	int rc;

	wbuf_init(&f);
	wbuf_put_u32(&f, (uint32_t)(payload->len + 1));
	wbuf_put_u8(&f, (uint8_t)type);
	wbuf_put(&f, payload->p, payload->len);
	rc = wbuf_status(&f) == 0 ? tls_write_all(ssl, f.p, f.len) : -1;
	wbuf_free(&f);
	return rc;
}

static void send_hello(struct run *r, WOLFSSL *ssl, const char *from)
{
	struct wbuf w;

	wbuf_init(&w);
	tlv_put_u64(&w, F_VERSION, PROTO2_REVISION);
	tlv_put_str(&w, F_FROM, from);
	tlv_put_str(&w, F_TO, "VICTIM");
	tlv_put_u64(&w, F_PROTO, 2);
	tlv_put_u64(&w, F_PURPOSE, r->flags & 4 ? PURPOSE_SYNC : PURPOSE_PING);
	tlv_put_u64(&w, F_METHOD, r->flags & 2 ? METHOD_SRP : METHOD_KEY);
	tlv_put_u64(&w, F_FLAGS, r->flags & 8 ? FLAG_FORCESYNC : 0);
	(void)send_frame(ssl, MSG_HELLO, &w);
	wbuf_free(&w);
}

static void send_input(struct run *r, WOLFSSL *ssl)
{
	struct tp_frame f;
	size_t off = 0;
	struct wbuf w;

	while (tp_next_frame(r->d, r->n, &off, &f)) {
		int rc;
		if (f.type == 0xFF) {
			rc = tls_write_all(ssl, f.p, f.n);
		} else {
			wbuf_init(&w);
			wbuf_put(&w, f.p, f.n);
			rc = send_frame(ssl, f.type, &w);
			wbuf_free(&w);
		}
		if (rc < 0)
			return; /* VICTIM closed: the rest would go nowhere */
	}
}

/* Reads one frame of VICTIM's (its HELLO), 3 s at most. */
static void read_one_frame(WOLFSSL *ssl)
{
	uint8_t buf[4096];
	size_t have = 0;
	uint32_t len = 0;

	while (have < 4 || have < 4 + (size_t)len) {
		int n = wolfSSL_read(ssl, buf + (have < sizeof(buf) ? have : 0),
				     (int)(have < sizeof(buf) ? sizeof(buf) - have : sizeof(buf)));
		if (n <= 0)
			return;
		have += (size_t)n;
		if (have >= 4)
			len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
		if (len > sizeof(buf))
			return;
	}
}

/* Half-closes and waits for VICTIM to close: EOF or reset within 3 s. */
static void finish(struct run *r, int fd)
{
	uint8_t buf[4096];
	double t0 = harness_now_ms();

	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		double left = 3000 - (harness_now_ms() - t0);
		ssize_t n;
		if (left <= 0) {
			r->hung = 1;
			return;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return;
	}
}

static void run_client(struct run *r)
{
	static const char *names[] = {"FUZZ", "NEWBIE", "NOBODY"};
	const struct own_identity *ids[] = {&A.id_fuzz, &A.id_newbie, NULL};
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	WOLFSSL *ssl;

	if (fd < 0)
		abort();
	set_timeouts(fd, 3000);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)tp.v.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	ssl = wolfSSL_new(A.pol.client);
	if (!ssl || (ids[r->mode] && tls_use_identity(ssl, ids[r->mode]) < 0))
		abort();
	wolfSSL_set_fd(ssl, fd);
	if (wolfSSL_connect(ssl) == WOLFSSL_SUCCESS) {
		if (r->flags & 1)
			send_hello(r, ssl, names[r->mode]);
		send_input(r, ssl);
	}
	finish(r, fd);
	wolfSSL_free(ssl);
	close(fd);
}

static void run_server(struct run *r)
{
	struct pollfd p = {.fd = A.listen_fd, .events = POLLIN};
	WOLFSSL *ssl;
	int fd;

	if (poll(&p, 1, 3000) <= 0) {
		fprintf(stderr, "fuzz_auth: VICTIM did not connect to HOST within 3 s\n");
		abort();
	}
	fd = accept(A.listen_fd, NULL, NULL);
	if (fd < 0)
		abort();
	set_timeouts(fd, 3000);
	ssl = wolfSSL_new(A.pol.server);
	if (!ssl || tls_use_identity(ssl, &A.id_host) < 0)
		abort();
	wolfSSL_set_fd(ssl, fd);
	if (wolfSSL_accept(ssl) == WOLFSSL_SUCCESS) {
		read_one_frame(ssl);
		send_input(r, ssl);
	}
	finish(r, fd);
	wolfSSL_free(ssl);
	close(fd);
}

static void *harness_thread(void *arg)
{
	struct run *r = arg;
	if (r->mode == 3)
		run_server(r);
	else
		run_client(r);
	/* wolfSSL's fixed-point ECC cache is per thread: freed by the thread
	 * that filled it, or LeakSanitizer sees 3 MB lost per input. */
	wc_ecc_fp_free();
	r->finished = 1;
	return NULL;
}

static void victim_done(struct sync *y, const char *server, const struct session_result *res,
			const struct talk_outcome *o, void *arg)
{
	(void)y, (void)server, (void)res, (void)o;
	((struct run *)arg)->victim_done = 1;
}

static void start(void)
{
	struct sockaddr_in sa;

	tp_start(define_more);
	load_identity(&tp.f.in, &A.id_fuzz);
	load_identity(&A.newbie.in, &A.id_newbie);
	load_identity(&A.host.in, &A.id_host);
	if (tls_policy_init(&A.pol, 1) < 0)
		abort();
	/* HOST's port: the harness listens there for mode 3. */
	A.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)A.host_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (A.listen_fd < 0 || bind(A.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(A.listen_fd, 8) < 0) {
		fprintf(stderr, "fuzz_auth: cannot listen on HOST's port %d: %s\n", A.host_port,
			strerror(errno));
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r;
	pthread_t th;

	if (!tp.ready)
		start();
	if (size < 2 || size > 200000)
		return 0;
	memset(&r, 0, sizeof(r));
	r.mode = data[0] % 4;
	r.flags = data[1];
	r.d = data + 2;
	r.n = size - 2;
	tp_reset_admission();
	if (r.mode == 3 && talk_connect(&tp.v.y, "HOST", PURPOSE_PING, victim_done, &r) < 0)
		abort();
	if (pthread_create(&th, NULL, harness_thread, &r) != 0)
		abort();
	while (!r.finished || (r.mode == 3 && !r.victim_done)) {
		uv_run(&tp.loop, UV_RUN_NOWAIT);
		usleep(50);
		if (r.finished && r.mode == 3 && !r.victim_done && tp_run_until((volatile int *)&r.victim_done, 3000) < 0) {
			fprintf(stderr, "fuzz_auth: VICTIM's session to HOST did not end within 3 s\n");
			abort();
		}
	}
	pthread_join(th, NULL);
	if (r.hung) {
		fprintf(stderr, "fuzz_auth: VICTIM did not close within 3 s of the harness's EOF (mode %d)\n",
			r.mode);
		abort();
	}
	tp_expect_quiet(3000, "fuzz_auth");
	if (++A.inputs % HEALTH_EVERY == 0)
		tp_health("fuzz_auth");
	return 0;
}
