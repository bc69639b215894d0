/* TURN REST-API credentials with OpenSSL's HMAC, and the polite rule (see turn.h). */
#include "turn.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int turn_credential(const char *secret, const char *conn, int64_t expiry, char *username,
                    size_t ulen, char *credential, size_t clen)
{
    int n = snprintf(username, ulen, "%lld:%s", (long long)expiry, conn);
    if (n < 0 || (size_t)n >= ulen || clen < 29)
        return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)username, (size_t)n,
              md, &mdlen) ||
        mdlen != 20)
        return -1;
    EVP_EncodeBlock((unsigned char *)credential, md, (int)mdlen); /* 28 chars + NUL */
    return 0;
}

bool turn_polite(const char *self, const char *peer)
{
    return strcmp(self, peer) > 0;
}
