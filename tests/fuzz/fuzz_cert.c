/* Fuzz target: certificate import — identity_cert_decode (PEM or DER, as
 * 'cert import-ca', 'import-peer' and 'install' read files) and
 * identity_cert_info on what it decoded, as every received partner
 * certificate is described. */
#include <stdint.h>
#include <stdlib.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../../peer/keys/identity.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	wolfSSL_Init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blob der = {0};
	struct certinfo ci;

	if (identity_cert_decode(data, size, &der) == 0) {
		(void)identity_cert_info(der.p, der.n, &ci);
		blob_free(&der);
	}
	/* The DER path directly, whatever decode said. */
	(void)identity_cert_info(data, size, &ci);
	return 0;
}
