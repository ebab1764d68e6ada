/*
 * Unit test of the libsrtp 3 layer (../libsrtp3) as mediasoup uses it: known answers
 * from the RFCs (vectors.h), round trips, and every refusal. run.sh builds it with
 * AddressSanitizer and UndefinedBehaviorSanitizer against Debian's libsrtp 2.
 * Prints one line per failed check and "N passed, N failed" last; exits 1 on a failure.
 */
#include "srtp.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"

#define SSRC 0xcafebabeu /* the SSRC in vectors.h's packets */
#define BUFFER_SIZE 512

static unsigned passed, failed;

#define CHECK(cond) check((cond), #cond, __func__, __LINE__)
#define CHECK_STATUS(call, expected) check_status((call), (expected), #call, __func__, __LINE__)

static void check(bool ok, const char *what, const char *where, int line)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAILED %s:%d: %s\n", where, line, what);
    }
}

static void check_status(srtp_err_status_t got, srtp_err_status_t expected, const char *what,
                         const char *where, int line)
{
    if (got == expected) {
        passed++;
    } else {
        failed++;
        printf("FAILED %s:%d: %s returned %d, expected %d\n", where, line, what, got, expected);
    }
}

struct profile_case {
    const char *name;
    srtp_profile_t profile;
    const uint8_t *key;
    size_t key_len;
    size_t salt_len;
    const uint8_t *rtp;
    size_t rtp_len;
    const uint8_t *rtcp;
    size_t rtcp_len;
};

#define VECTOR(name) name, sizeof(name)

static const struct profile_case profiles[] = {
    { "AES_CM_128_HMAC_SHA1_80", srtp_profile_aes128_cm_sha1_80, master_key_128, 16, 14,
      VECTOR(cm80_rtp), VECTOR(cm_rtcp) },
    /* SRTCP keeps its 80-bit tag under the _32 profile (RFC 5764 4.1.2). */
    { "AES_CM_128_HMAC_SHA1_32", srtp_profile_aes128_cm_sha1_32, master_key_128, 16, 14,
      VECTOR(cm32_rtp), VECTOR(cm_rtcp) },
    { "AEAD_AES_128_GCM", srtp_profile_aead_aes_128_gcm, master_key_128, 16, 12,
      VECTOR(gcm128_rtp), VECTOR(gcm128_rtcp) },
    { "AEAD_AES_256_GCM", srtp_profile_aead_aes_256_gcm, master_key_256, 32, 12,
      VECTOR(gcm256_rtp), VECTOR(gcm256_rtcp) },
};

/* A session as mediasoup's SrtpSession creates one. */
static srtp_t make_session(const struct profile_case *p, srtp_ssrc_t ssrc, bool allow_repeat_tx,
                           const uint8_t *key)
{
    srtp_policy_t policy = NULL;
    srtp_t session = NULL;

    CHECK_STATUS(srtp_policy_create(&policy), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_ssrc(policy, ssrc), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_profile(policy, p->profile), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_add_key(policy, key, p->key_len, master_salt, p->salt_len, NULL, 0),
                 srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_allow_repeat_tx(policy, allow_repeat_tx), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_window_size(policy, 1024), srtp_err_status_ok);
    CHECK_STATUS(srtp_create(&session, policy), srtp_err_status_ok);
    srtp_policy_destroy(policy);
    return session;
}

static srtp_t outbound(const struct profile_case *p, bool allow_repeat_tx)
{
    return make_session(p, (srtp_ssrc_t){ ssrc_any_outbound, 0 }, allow_repeat_tx, p->key);
}

static srtp_t inbound(const struct profile_case *p)
{
    return make_session(p, (srtp_ssrc_t){ ssrc_any_inbound, 0 }, false, p->key);
}

static void protects_rtp_and_rtcp_as_the_rfcs_say(const struct profile_case *p)
{
    srtp_t session = outbound(p, false);
    _Alignas(4) uint8_t in[BUFFER_SIZE], out[BUFFER_SIZE];
    size_t len = sizeof(out);

    memcpy(in, rtp_plain, sizeof(rtp_plain));
    CHECK_STATUS(srtp_protect(session, in, sizeof(rtp_plain), out, &len, 0), srtp_err_status_ok);
    CHECK(len == p->rtp_len && memcmp(out, p->rtp, len) == 0);
    CHECK(memcmp(in, rtp_plain, sizeof(rtp_plain)) == 0); /* the input is left alone */

    len = sizeof(out);
    memcpy(in, rtcp_plain, sizeof(rtcp_plain));
    CHECK_STATUS(srtp_protect_rtcp(session, in, sizeof(rtcp_plain), out, &len, 0),
                 srtp_err_status_ok);
    CHECK(len == p->rtcp_len && memcmp(out, p->rtcp, len) == 0);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);

    /* In place, as mediasoup never does for protect but libsrtp 3 allows. */
    session = outbound(p, false);
    len = sizeof(in);
    memcpy(in, rtp_plain, sizeof(rtp_plain));
    CHECK_STATUS(srtp_protect(session, in, sizeof(rtp_plain), in, &len, 0), srtp_err_status_ok);
    CHECK(len == p->rtp_len && memcmp(in, p->rtp, len) == 0);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);

    /* A specific SSRC is given in host byte order. */
    session = make_session(p, (srtp_ssrc_t){ ssrc_specific, SSRC }, false, p->key);
    len = sizeof(out);
    CHECK_STATUS(srtp_protect(session, rtp_plain, sizeof(rtp_plain), out, &len, 0),
                 srtp_err_status_ok);
    CHECK(len == p->rtp_len && memcmp(out, p->rtp, len) == 0);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);
}

static void unprotects_in_place_and_into_another_buffer(const struct profile_case *p)
{
    srtp_t session = inbound(p);
    _Alignas(4) uint8_t out[BUFFER_SIZE];
    /* In place in a buffer just as long as the packet (AddressSanitizer sees any byte
     * touched past it), with that length as the capacity, as mediasoup calls it. */
    uint8_t *rtp = malloc(p->rtp_len), *rtcp = malloc(p->rtcp_len);
    size_t len = p->rtp_len;

    memcpy(rtp, p->rtp, p->rtp_len);
    CHECK_STATUS(srtp_unprotect(session, rtp, p->rtp_len, rtp, &len), srtp_err_status_ok);
    CHECK(len == sizeof(rtp_plain) && memcmp(rtp, rtp_plain, len) == 0);

    len = p->rtcp_len;
    memcpy(rtcp, p->rtcp, p->rtcp_len);
    CHECK_STATUS(srtp_unprotect_rtcp(session, rtcp, p->rtcp_len, rtcp, &len), srtp_err_status_ok);
    CHECK(len == sizeof(rtcp_plain) && memcmp(rtcp, rtcp_plain, len) == 0);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);
    free(rtp);
    free(rtcp);

    session = inbound(p);
    len = sizeof(out);
    CHECK_STATUS(srtp_unprotect(session, p->rtp, p->rtp_len, out, &len), srtp_err_status_ok);
    CHECK(len == sizeof(rtp_plain) && memcmp(out, rtp_plain, len) == 0);
    len = sizeof(out);
    CHECK_STATUS(srtp_unprotect_rtcp(session, p->rtcp, p->rtcp_len, out, &len),
                 srtp_err_status_ok);
    CHECK(len == sizeof(rtcp_plain) && memcmp(out, rtcp_plain, len) == 0);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);
}

static bool all_zero(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != 0) {
            return false;
        }
    }
    return true;
}

static void rejects_packets_under_another_key(const struct profile_case *p)
{
    uint8_t wrong_key[32];
    memcpy(wrong_key, p->key, p->key_len);
    wrong_key[0] ^= 0x01;
    srtp_t session = make_session(p, (srtp_ssrc_t){ ssrc_any_inbound, 0 }, false, wrong_key);
    _Alignas(4) uint8_t out[BUFFER_SIZE];
    size_t len = sizeof(out);

    memset(out, 0x55, sizeof(out));
    CHECK_STATUS(srtp_unprotect(session, p->rtp, p->rtp_len, out, &len),
                 srtp_err_status_auth_fail);
    /* Unauthenticated bytes do not stay in the caller's other buffer. */
    CHECK(all_zero(out, p->rtp_len));
    len = sizeof(out);
    CHECK_STATUS(srtp_unprotect_rtcp(session, p->rtcp, p->rtcp_len, out, &len),
                 srtp_err_status_auth_fail);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);
}

static void refuses_output_buffers_without_room_for_the_trailer(const struct profile_case *p)
{
    srtp_t session = outbound(p, true);
    _Alignas(4) uint8_t out[BUFFER_SIZE];
    size_t len = sizeof(rtp_plain) + SRTP_MAX_TRAILER_LEN - 1;

    CHECK_STATUS(srtp_protect(session, rtp_plain, sizeof(rtp_plain), out, &len, 0),
                 srtp_err_status_buffer_small);
    /* Exactly enough room, in a buffer of that size (see above). */
    len = sizeof(rtp_plain) + SRTP_MAX_TRAILER_LEN;
    uint8_t *exact = malloc(len);
    CHECK_STATUS(srtp_protect(session, rtp_plain, sizeof(rtp_plain), exact, &len, 0),
                 srtp_err_status_ok);
    CHECK(len == p->rtp_len);
    free(exact);

    /* SRTCP adds its 4-byte index too. */
    len = sizeof(rtcp_plain) + SRTP_MAX_TRAILER_LEN + 3;
    CHECK_STATUS(srtp_protect_rtcp(session, rtcp_plain, sizeof(rtcp_plain), out, &len, 0),
                 srtp_err_status_buffer_small);
    len = sizeof(rtcp_plain) + SRTP_MAX_TRAILER_LEN + 4;
    exact = malloc(len);
    CHECK_STATUS(srtp_protect_rtcp(session, rtcp_plain, sizeof(rtcp_plain), exact, &len, 0),
                 srtp_err_status_ok);
    CHECK(len == p->rtcp_len);
    free(exact);

    len = 0;
    CHECK_STATUS(srtp_protect(session, rtp_plain, sizeof(rtp_plain), out, &len, 0),
                 srtp_err_status_buffer_small);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);

    session = inbound(p);
    len = p->rtp_len - 1;
    CHECK_STATUS(srtp_unprotect(session, p->rtp, p->rtp_len, out, &len),
                 srtp_err_status_buffer_small);
    len = p->rtcp_len - 1;
    CHECK_STATUS(srtp_unprotect_rtcp(session, p->rtcp, p->rtcp_len, out, &len),
                 srtp_err_status_buffer_small);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);
}

static void rejects_replayed_packets(const struct profile_case *p)
{
    srtp_t session = inbound(p);
    _Alignas(4) uint8_t out[BUFFER_SIZE];
    size_t len = sizeof(out);

    CHECK_STATUS(srtp_unprotect(session, p->rtp, p->rtp_len, out, &len), srtp_err_status_ok);
    len = sizeof(out);
    CHECK_STATUS(srtp_unprotect(session, p->rtp, p->rtp_len, out, &len),
                 srtp_err_status_replay_fail);
    len = sizeof(out);
    CHECK_STATUS(srtp_unprotect_rtcp(session, p->rtcp, p->rtcp_len, out, &len),
                 srtp_err_status_ok);
    len = sizeof(out);
    CHECK_STATUS(srtp_unprotect_rtcp(session, p->rtcp, p->rtcp_len, out, &len),
                 srtp_err_status_replay_fail);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);

    /* A sender repeats a sequence number only when allowed (mediasoup allows it, for
     * retransmissions without RTX), and then with the same output. */
    session = outbound(p, false);
    len = sizeof(out);
    CHECK_STATUS(srtp_protect(session, rtp_plain, sizeof(rtp_plain), out, &len, 0),
                 srtp_err_status_ok);
    len = sizeof(out);
    CHECK_STATUS(srtp_protect(session, rtp_plain, sizeof(rtp_plain), out, &len, 0),
                 srtp_err_status_replay_fail);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);

    session = outbound(p, true);
    len = sizeof(out);
    CHECK_STATUS(srtp_protect(session, rtp_plain, sizeof(rtp_plain), out, &len, 0),
                 srtp_err_status_ok);
    len = sizeof(out);
    CHECK_STATUS(srtp_protect(session, rtp_plain, sizeof(rtp_plain), out, &len, 0),
                 srtp_err_status_ok);
    CHECK(len == p->rtp_len && memcmp(out, p->rtp, len) == 0);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);
}

static void removes_a_stream_by_its_ssrc_in_network_byte_order(const struct profile_case *p)
{
    srtp_t session = inbound(p);
    _Alignas(4) uint8_t out[BUFFER_SIZE];
    size_t len = sizeof(out);

    CHECK_STATUS(srtp_unprotect(session, p->rtp, p->rtp_len, out, &len), srtp_err_status_ok);
    CHECK_STATUS(srtp_stream_remove(session, htonl(SSRC)), srtp_err_status_ok);
    /* A new stream (fresh replay window) takes the removed one's place. */
    len = sizeof(out);
    CHECK_STATUS(srtp_unprotect(session, p->rtp, p->rtp_len, out, &len), srtp_err_status_ok);
    CHECK_STATUS(srtp_stream_remove(session, htonl(SSRC + 1)), srtp_err_status_no_ctx);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);
}

static void knows_each_profiles_key_and_salt_lengths(const struct profile_case *p)
{
    CHECK(srtp_profile_get_master_key_length(p->profile) == p->key_len);
    CHECK(srtp_profile_get_master_salt_length(p->profile) == p->salt_len);
}

static srtp_policy_t keyed_policy(const struct profile_case *p)
{
    srtp_policy_t policy = NULL;

    CHECK_STATUS(srtp_policy_create(&policy), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_ssrc(policy, (srtp_ssrc_t){ ssrc_any_outbound, 0 }),
                 srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_profile(policy, p->profile), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_add_key(policy, p->key, p->key_len, master_salt, p->salt_len, NULL, 0),
                 srtp_err_status_ok);
    return policy;
}

static void refuses_what_it_does_not_emulate(void)
{
    const struct profile_case *p = &profiles[0];
    static const uint8_t mki[4] = { 1, 2, 3, 4 };
    srtp_policy_t policy = keyed_policy(p);
    srtp_t session = NULL;
    _Alignas(4) uint8_t out[BUFFER_SIZE];
    size_t len = sizeof(out);

    /* One master key, no MKI, no cryptex. */
    CHECK_STATUS(srtp_policy_add_key(policy, p->key, p->key_len, master_salt, p->salt_len, NULL, 0),
                 srtp_err_status_bad_param);
    CHECK_STATUS(srtp_policy_set_cryptex(policy, true), srtp_err_status_cryptex_err);
    CHECK_STATUS(srtp_policy_set_cryptex(policy, false), srtp_err_status_ok);
    CHECK_STATUS(srtp_create(&session, policy), srtp_err_status_ok);
    CHECK_STATUS(srtp_protect(session, rtp_plain, sizeof(rtp_plain), out, &len, 1),
                 srtp_err_status_bad_mki);
    len = sizeof(out);
    CHECK_STATUS(srtp_protect_rtcp(session, rtcp_plain, sizeof(rtcp_plain), out, &len, 1),
                 srtp_err_status_bad_mki);
    CHECK_STATUS(srtp_dealloc(session), srtp_err_status_ok);
    srtp_policy_destroy(policy);

    CHECK_STATUS(srtp_policy_create(&policy), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_add_key(policy, p->key, p->key_len, master_salt, p->salt_len, mki,
                                     sizeof(mki)),
                 srtp_err_status_bad_param);
    /* Window sizes libsrtp cannot hold, profiles it does not offer, SSRC kinds it lacks. */
    CHECK_STATUS(srtp_policy_set_window_size(policy, 63), srtp_err_status_bad_param);
    CHECK_STATUS(srtp_policy_set_window_size(policy, 0x8000), srtp_err_status_bad_param);
    CHECK_STATUS(srtp_policy_set_window_size(policy, 0), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_profile(policy, srtp_profile_reserved), srtp_err_status_bad_param);
    CHECK_STATUS(srtp_policy_set_profile(policy, (srtp_profile_t)99), srtp_err_status_bad_param);
    CHECK_STATUS(srtp_policy_set_ssrc(policy, (srtp_ssrc_t){ ssrc_undefined, 0 }),
                 srtp_err_status_bad_param);
    CHECK(srtp_profile_get_master_key_length(srtp_profile_reserved) == 0);
    /* No session from an incomplete policy: no profile, no SSRC kind, no key. */
    CHECK_STATUS(srtp_create(&session, policy), srtp_err_status_bad_param);
    CHECK_STATUS(srtp_policy_set_profile(policy, p->profile), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_add_key(policy, p->key, p->key_len, master_salt, p->salt_len, NULL, 0),
                 srtp_err_status_ok);
    CHECK_STATUS(srtp_create(&session, policy), srtp_err_status_bad_param);
    CHECK_STATUS(srtp_create(&session, NULL), srtp_err_status_bad_param);
    srtp_policy_destroy(policy);

    /* Key and salt must have the profile's lengths. */
    CHECK_STATUS(srtp_policy_create(&policy), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_ssrc(policy, (srtp_ssrc_t){ ssrc_any_inbound, 0 }),
                 srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_profile(policy, srtp_profile_aead_aes_256_gcm), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_add_key(policy, master_key_128, 16, master_salt, 12, NULL, 0),
                 srtp_err_status_ok);
    CHECK_STATUS(srtp_create(&session, policy), srtp_err_status_bad_param);
    srtp_policy_destroy(policy);

    CHECK_STATUS(srtp_policy_create(&policy), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_ssrc(policy, (srtp_ssrc_t){ ssrc_any_inbound, 0 }),
                 srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_set_profile(policy, srtp_profile_aes128_cm_sha1_80), srtp_err_status_ok);
    CHECK_STATUS(srtp_policy_add_key(policy, master_key_128, 16, master_salt, 12, NULL, 0),
                 srtp_err_status_ok);
    CHECK_STATUS(srtp_create(&session, policy), srtp_err_status_bad_param);
    srtp_policy_destroy(policy);
    srtp_policy_destroy(NULL);

    CHECK_STATUS(srtp_policy_create(NULL), srtp_err_status_bad_param);
    CHECK_STATUS(srtp_policy_set_allow_repeat_tx(NULL, true), srtp_err_status_bad_param);
    CHECK_STATUS(srtp_policy_set_cryptex(NULL, false), srtp_err_status_bad_param);
}

static void on_event(srtp_event_data_t *data)
{
    (void)data;
}

int main(void)
{
    CHECK_STATUS(srtp_init(), srtp_err_status_ok);
    CHECK(strncmp(srtp_get_version_string(), "libsrtp3 API subset (mediasoup-compat) over libsrtp2",
                  strlen("libsrtp3 API subset (mediasoup-compat) over libsrtp2")) == 0);
    CHECK_STATUS(srtp_install_event_handler(on_event), srtp_err_status_ok);

    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
        const struct profile_case *p = &profiles[i];
        unsigned failed_before = failed;

        knows_each_profiles_key_and_salt_lengths(p);
        protects_rtp_and_rtcp_as_the_rfcs_say(p);
        unprotects_in_place_and_into_another_buffer(p);
        rejects_packets_under_another_key(p);
        refuses_output_buffers_without_room_for_the_trailer(p);
        rejects_replayed_packets(p);
        removes_a_stream_by_its_ssrc_in_network_byte_order(p);
        printf("%s %s\n", failed == failed_before ? "ok" : "not ok", p->name);
    }
    refuses_what_it_does_not_emulate();

    CHECK_STATUS(srtp_install_event_handler(NULL), srtp_err_status_ok);
    CHECK_STATUS(srtp_shutdown(), srtp_err_status_ok);
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
