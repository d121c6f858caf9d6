#include "chunker.h"

#include <string.h>

/* 256 fixed pseudo-random words: the first 8 bytes (big-endian) of
 * SHA-256("replpeer gear N"). They must never change: they decide where
 * every instance cuts. */
static const uint64_t gear[256] = {
	0x16077f26687cb70fULL, 0x56bd9bdb307ecabdULL, 0x3877f48c9247e612ULL, 0xdfca6d99cc9fd716ULL,
	0x1f449d96f41ab186ULL, 0x4ee763bca96a1600ULL, 0xd9d33a6ff556f533ULL, 0x2e245eb93f690a9bULL,
	0x2020c4251fa955b4ULL, 0x37afd35685e06968ULL, 0xedb70d1faa164a31ULL, 0xd0db1e14ba2c3300ULL,
	0x1ff93ce770d60005ULL, 0xf405a097b9f4051eULL, 0x441521dc8236c9aeULL, 0xd028a0f7c51521b0ULL,
	0x1e68b125e2061c96ULL, 0x97157ab3b5acb689ULL, 0x9f5e2430e91b27b5ULL, 0x976a8945675fe370ULL,
	0x02a2b2301000b70dULL, 0x19cd263dba631784ULL, 0xdb10d99b58adb010ULL, 0x6717eb09a0438c34ULL,
	0x8569d6ab394242e7ULL, 0xd854c1fa99149e77ULL, 0x3e0589d73934bb85ULL, 0x83cae764976bfc65ULL,
	0xf138f1cba4315c59ULL, 0x34a73837fa57d199ULL, 0xfd94f8b506ae2d48ULL, 0xace6e4f42146ae67ULL,
	0xcba77995867cd2c3ULL, 0xa80bcd4624d396d1ULL, 0x8fc999adb7d28f72ULL, 0xdfbf1d9d30adf2ebULL,
	0x23bb5b50bc8c5dd2ULL, 0x3f6e1094af40eb8bULL, 0x5cf7d66a535d7c9aULL, 0xe41ae20da073ad53ULL,
	0xd9a080b619c3b317ULL, 0x16d2947f66a6fe2dULL, 0xc5723d102f2eac8cULL, 0xb781824644a8647fULL,
	0x6008c85c5b8a3bd8ULL, 0xc2307e14a038d541ULL, 0x42ebeeaea433ebcbULL, 0xc8537d8f77c3d174ULL,
	0x73b47c5a417d2398ULL, 0x13297d2e61fff212ULL, 0xa43edb110ddd1f81ULL, 0xadce66e66a01f1bcULL,
	0xbc6c8424a50b813cULL, 0x1f8b14e2ad054b91ULL, 0x7ece8b3bf29c946dULL, 0x8ed7a5185f4603aeULL,
	0x578b67ad21e733fbULL, 0xbf2378970944ce5fULL, 0x952de58b430749c8ULL, 0x7eed202fe02845f8ULL,
	0x262eb26efc79c353ULL, 0xc182b78fb9b19fb6ULL, 0x7d63275665d72ecaULL, 0xa62f0e64b79ffef7ULL,
	0x2bc3d5f6f23a1fc1ULL, 0xfa252d1feebac72cULL, 0x1eddb56a2e7d0101ULL, 0x69c37872acbe2347ULL,
	0x81dc6e6d9acd3cfbULL, 0xf3ce7baa93c14962ULL, 0xb6f260a78b9f0ce4ULL, 0x9d541b449894dc1fULL,
	0xa34b069f51a7b74bULL, 0x55864e6d65c573b8ULL, 0x5879d2692bcc8624ULL, 0xd0c75e0d1da86b89ULL,
	0xa76bcfd24e505f71ULL, 0x4a7e56f77644a08aULL, 0x00e52f139425a1c2ULL, 0x488d71c8d835c7ddULL,
	0x9df67219914da431ULL, 0x483112972fb00a71ULL, 0x4914bccde1445ca2ULL, 0xdde9873a716c8717ULL,
	0xbd141bb27cc12adaULL, 0x577a5b1a1982c2feULL, 0x8bb354aba6fc0791ULL, 0x50050367f7d82257ULL,
	0x5c470d85b1ddf04aULL, 0x95d87376ea9464cfULL, 0x018ab4bead6a1a38ULL, 0x97e4732b47d301caULL,
	0x30e935f91c0d09dcULL, 0xd57c1929091705c9ULL, 0x24b0537b8293c4d7ULL, 0x720bd9d0e54d3e2fULL,
	0x57fa7c2e35b4b6abULL, 0x2343dd8a2c83e60cULL, 0x5e501e88ae8565c8ULL, 0x7dbf357ee6efa204ULL,
	0x31b428a6d6c90ecbULL, 0xbead8accfc93d002ULL, 0xdbb404bcabeb1d34ULL, 0x27eb4caa5dc9430bULL,
	0xad79e2b480403839ULL, 0xf1771458e226a59cULL, 0x268dc73b91ecb686ULL, 0x8da5f4bc0bea4c40ULL,
	0x10af3842a1536f29ULL, 0x5949e39141df5a7fULL, 0x72f3253339c74a7fULL, 0x530c070894374b18ULL,
	0xa0e432a4bd79737cULL, 0x870c0f8227073af6ULL, 0x82dd529a2c45c2faULL, 0xc4ddf522af82a354ULL,
	0x7041e38bab30e7f7ULL, 0x76d5b464499a21f8ULL, 0x255daacd09d18077ULL, 0x7187e69716874c92ULL,
	0x9e9fe4752a992920ULL, 0x6c5fec8f6c8258a1ULL, 0x5398c693b82f55deULL, 0x79e8946f568e0fc2ULL,
	0xf8792b6f27784e25ULL, 0xcaa5672f20edad7cULL, 0x94865258e782b4ebULL, 0x6238fd9eb17c2ef5ULL,
	0xc28da7a0e26a919eULL, 0x819acbab33178eadULL, 0x14fdb59e153c8887ULL, 0x2704fb471ac2a458ULL,
	0xd954bf6d142fbdc9ULL, 0xa7bf58cfe69c86b9ULL, 0xb27310273345f207ULL, 0x719947206e4476deULL,
	0x5e32998f9cc28f06ULL, 0x0507c0a9bf7b673aULL, 0x42dafeda3ded927cULL, 0x49271885cc003f24ULL,
	0xd367bfd3719ee16fULL, 0x7db35c5f622730f3ULL, 0x9f4fefb70c8095b1ULL, 0x5d82df6d3996fa4aULL,
	0xc4dfd5b8e7bec96aULL, 0x096ac9f9356baa36ULL, 0xe398ed15b59a463cULL, 0xffedd55eb737fc61ULL,
	0xc9d41f4d12fce2f3ULL, 0x5bf11a0d8cc8249aULL, 0xebbb6dca91fe7203ULL, 0xede8206360d6bb4eULL,
	0x604e5ffe2f8398f4ULL, 0xd91468fd62b04f0aULL, 0x9a73b83f642cb6a8ULL, 0xb527f5a652f2296aULL,
	0xb1ecb8e45d7a4174ULL, 0x2b84d0b203389fd8ULL, 0x7bcea21bc9e5a2e2ULL, 0x794ff8e219541960ULL,
	0x0246e057650a7609ULL, 0x8936453acf233ac0ULL, 0x8ff44ff50ba223daULL, 0xd321991e3380b9b7ULL,
	0x6c6a2f401630625bULL, 0xce789ad44556f136ULL, 0xfaa30208d33837c0ULL, 0xaff6fc9526beccc3ULL,
	0x94f58eeff8b88f24ULL, 0x714fa5ff70ae2902ULL, 0x192187c9059c7643ULL, 0xa6a269830b2803e1ULL,
	0x4336a4bdd2e29531ULL, 0xcb46ddea30c644cfULL, 0xaa5f8cb78c180d23ULL, 0xcc6b9e8bdd65157aULL,
	0xf3e5ba0a686da82fULL, 0xd2765438556e5914ULL, 0x3b00e2c504095725ULL, 0xcfc1a65c2d2d20aaULL,
	0x9f19b876f1971882ULL, 0x16a6d640fb9c54dcULL, 0xdcb39fef45ae541dULL, 0x2129789f7b5ab159ULL,
	0x3565d89e70308ca3ULL, 0xcfa1a9d9a371ac90ULL, 0x625973b360557832ULL, 0x3d1dd627dff7f6c3ULL,
	0x1634fe4b73dc07dbULL, 0x62dc9dd4ee51148cULL, 0xd3239c028795401eULL, 0xf506d93a0052147fULL,
	0x992afb2ef467d188ULL, 0xfa00538be0ed0bf7ULL, 0xb580962bc4168306ULL, 0xc4bab587e91a5191ULL,
	0x7da8f89952901da7ULL, 0x21e932957621e267ULL, 0x972cc5efc1ae7049ULL, 0xcdfee6c0f4febdfaULL,
	0xd8da707961526d60ULL, 0x7b12f1576e6a7f65ULL, 0x1cf2d28a55980714ULL, 0x0e1dd36d8d5dac4fULL,
	0x65a21b974c173c71ULL, 0x5363e6113b62c2d9ULL, 0x90cfbc349eecdf4dULL, 0x174d21ff2be8ba15ULL,
	0x46765c12cf180f04ULL, 0x42f46bedd65b6ee6ULL, 0xc42ed8c5283b6816ULL, 0xfb99af3e065e058cULL,
	0x2f932cbfd4eacb50ULL, 0x2793ae8aced5c14fULL, 0x8517a1f6a7d41c89ULL, 0x6cab665656feca54ULL,
	0xd4e27696bed3c42aULL, 0x6ab75e8fb8f02c21ULL, 0x44d12b3691bb5663ULL, 0x21f180bfa309af0aULL,
	0x79c91ca543ac8839ULL, 0xae0065b8865327c6ULL, 0xab3b839163cbf644ULL, 0x441d5f5a099e7a31ULL,
	0x62d0eed17a96949dULL, 0x6e46368f88c83d78ULL, 0xbc1d8356d8300514ULL, 0xce75903431666dc2ULL,
	0xe8737afbd9b030a1ULL, 0xc1feaf34273e1f65ULL, 0x7006eafdd8874b2fULL, 0x8246ec5fe970ac99ULL,
	0x46926c056654602bULL, 0x093fc8631d3221e0ULL, 0x1f58708f8991b6deULL, 0xfb982bf3c6690e4aULL,
	0xeb15218c9b8599c0ULL, 0xf335501e0fff1b76ULL, 0xe04e1f2c81ad7f06ULL, 0x4c19b5778504915eULL,
	0xb7e1583efe5fde62ULL, 0x471135553a384157ULL, 0x23cf73fda2d93228ULL, 0x96eb81258fc1e4ecULL,
	0x575ac91f9336392dULL, 0x3a0a2cce05805064ULL, 0x7b737f01e1f6e15cULL, 0xad1af267dcf24eeeULL,
	0x36ff01f903e37413ULL, 0x06937ca20cc79f60ULL, 0xe0e18bea5937c229ULL, 0x7713a87f5adde397ULL,
	0xaaba32ee339a10bbULL, 0x6abb35c53b687a86ULL, 0xca4b91686a8939d8ULL, 0x1fb46bb12726f798ULL,
};

/* The top 'bits' bits: in a gear hash the high bits depend on the last 64
 * bytes, the low bits only on the last few. */
static uint64_t top_bits(unsigned bits) { return bits >= 64 ? ~0ULL : ~(~0ULL >> bits); }

static unsigned log2_floor(size_t v)
{
	unsigned b = 0;
	while (v >>= 1)
		b++;
	return b;
}

/* Normalized chunking, level 2: two more mask bits before the average size
 * and two fewer after it pull chunk sizes towards the average. */
void chunker_params_init(struct chunker_params *cp, size_t min, size_t avg, size_t max)
{
	unsigned bits = log2_floor(avg);

	cp->min = min;
	cp->avg = avg;
	cp->max = max;
	cp->mask_s = top_bits(bits + 2);
	cp->mask_l = top_bits(bits - 2);
}

const struct chunker_params *chunker_default(void)
{
	static const struct chunker_params def = {
		CHUNK_MIN,      CHUNK_AVG, CHUNK_MAX, ~(~0ULL >> 19), /* log2(128 KiB) + 2 */
		~(~0ULL >> 15),                                       /* log2(128 KiB) - 2 */
	};
	return &def;
}

size_t chunker_next(const struct chunker_params *cp, const uint8_t *p, size_t n)
{
	size_t end, normal, i;
	uint64_t h = 0;

	if (n <= cp->min)
		return n;
	end = n < cp->max ? n : cp->max;
	normal = cp->avg < end ? cp->avg : end;
	/* The first min bytes never hold a cut (FastCDC's cut-point skipping):
	 * the hash starts there, so a cut depends only on the 64 bytes before
	 * it and the chunking resynchronises one chunk after an edit. */
	for (i = cp->min; i < normal; i++) {
		h = (h << 1) + gear[p[i]];
		if (!(h & cp->mask_s))
			return i + 1;
	}
	for (; i < end; i++) {
		h = (h << 1) + gear[p[i]];
		if (!(h & cp->mask_l))
			return i + 1;
	}
	return end;
}

void chunk_hash(const void *p, size_t n, uint8_t out[HASH_LEN]) { hash_buf(p, n, out); }

void chunk_ref_pack(const struct chunk_ref *c, uint8_t out[CHUNK_REF_WIRE])
{
	memcpy(out, c->hash, HASH_LEN);
	out[32] = (uint8_t)(c->len >> 24);
	out[33] = (uint8_t)(c->len >> 16);
	out[34] = (uint8_t)(c->len >> 8);
	out[35] = (uint8_t)c->len;
}

void chunk_ref_unpack(const uint8_t in[CHUNK_REF_WIRE], struct chunk_ref *c)
{
	memcpy(c->hash, in, HASH_LEN);
	c->len = (uint32_t)in[32] << 24 | (uint32_t)in[33] << 16 | (uint32_t)in[34] << 8 | in[35];
}

static void digest_start(struct hash_ctx *h, uint64_t size)
{
	static const char tag[] = "replpeer object v1";
	uint8_t be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(size >> (56 - 8 * i));
	hash_init(h);
	hash_update(h, tag, sizeof(tag));
	hash_update(h, be, sizeof(be));
}

void chunk_list_digest(const struct chunk_ref *chunks, size_t n, uint8_t out[HASH_LEN])
{
	struct hash_ctx h;
	uint8_t packed[CHUNK_REF_WIRE];
	uint64_t size = 0;

	for (size_t i = 0; i < n; i++)
		size += chunks[i].len;
	digest_start(&h, size);
	for (size_t i = 0; i < n; i++) {
		chunk_ref_pack(&chunks[i], packed);
		hash_update(&h, packed, sizeof(packed));
	}
	hash_final(&h, out);
}

void chunk_list_digest_packed(const uint8_t *packed, size_t n, uint8_t out[HASH_LEN])
{
	struct hash_ctx h;
	uint64_t size = 0;

	for (size_t i = 0; i < n; i++) {
		struct chunk_ref c;
		chunk_ref_unpack(packed + i * CHUNK_REF_WIRE, &c);
		size += c.len;
	}
	digest_start(&h, size);
	hash_update(&h, packed, n * CHUNK_REF_WIRE);
	hash_final(&h, out);
}
