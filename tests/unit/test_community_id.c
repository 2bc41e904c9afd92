/*
 * test_community_id.c - Community ID v1 against the spec's published values.
 *
 * The vectors are the expected outputs listed in corelight/community-id-spec
 * (baseline/baseline_deflt.json for seed 0, baseline_seed1.json for seed 1)
 * and in the pycommunityid test suite, for TCP, UDP, SCTP, ICMP, ICMPv6 and
 * a port-less protocol (RSVP, 46), over IPv4 and IPv6. The baseline lists
 * ICMP tuples after the type mapping; here they are given as the raw
 * (type, code) the sensor sees, which is what lw_community_id_v1 takes.
 * Further tests pin the properties the vectors do not isolate: direction
 * independence, every request/reply pair of the mapping table, one-way types,
 * ignored ports for port-less protocols and the error cases.
 */
#include "leakwatch/community_id.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "leakwatch/err.h"

static lw_addr addr(const char *text)
{
    lw_addr a;
    memset(&a, 0, sizeof(a));
    if (strchr(text, ':') != NULL) {
        a.family = 6;
        assert_int_equal(inet_pton(AF_INET6, text, a.b), 1);
    } else {
        a.family = 4;
        assert_int_equal(inet_pton(AF_INET, text, a.b), 1);
    }
    return a;
}

static void cid(uint16_t seed, uint8_t proto, const char *s, uint16_t sport, const char *d,
                uint16_t dport, char out[LW_COMMUNITY_ID_LEN])
{
    lw_addr sa = addr(s), da = addr(d);
    assert_int_equal(lw_community_id_v1(seed, proto, &sa, sport, &da, dport, out), LW_OK);
}

struct vector {
    uint8_t proto;
    const char *saddr;
    uint16_t sport; /* ICMP: type */
    const char *daddr;
    uint16_t dport; /* ICMP: code */
    const char *seed0;
    const char *seed1;
};

static const struct vector vectors[] = {
    /* TCP over IPv4, both directions (baseline). */
    {6, "128.232.110.120", 34855, "66.35.250.204", 80,
     "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {6, "66.35.250.204", 80, "128.232.110.120", 34855,
     "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    /* TCP with the smaller address owning the smaller-sorting port
     * (pycommunityid issue 3). */
    {6, "10.0.0.1", 10, "10.0.0.2", 11569,
     "1:SXBGMX1lBOwhhoDrZynfROxnhnM=", "1:HmBRGR+fUyXF4t8WEtal7Y0gEAo="},
    /* UDP over IPv4. */
    {17, "192.168.1.52", 54585, "8.8.8.8", 53,
     "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {17, "8.8.8.8", 53, "192.168.1.52", 54585,
     "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    /* TCP over IPv6. */
    {6, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {6, "2607:f8b0:400c:c03::1a", 25, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    /* SCTP: equal ports, and different ports. */
    {132, "192.168.170.8", 7, "192.168.170.56", 7,
     "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {132, "192.168.170.56", 80, "192.168.170.8", 7,
     "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=", "1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU="},
    /* ICMP echo request and its reply; the reply's code is ignored. */
    {1, "192.168.0.89", 8, "192.168.0.1", 0,
     "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
    {1, "192.168.0.1", 0, "192.168.0.89", 0,
     "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
    {1, "192.168.0.1", 0, "192.168.0.89", 20,
     "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
    /* ICMP one-way types: the code is hashed. */
    {1, "192.168.0.89", 20, "192.168.0.1", 0,
     "1:3o2RFccXzUgjl7zDpqmY7yJi8rI=", "1:lCXHHxavE1Vq3oX9NH5ladQg02o="},
    {1, "192.168.0.89", 20, "192.168.0.1", 1,
     "1:tz/fHIDUHs19NkixVVoOZywde+I=", "1:Ie3wmFyxiEyikbsbcO03d2nh+PM="},
    {1, "10.0.0.1", 11, "10.0.0.2", 0,
     "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},
    /* ICMPv6 neighbor solicitation / advertisement, both pairings. */
    {58, "fe80::200:86ff:fe05:80da", 135, "fe80::260:97ff:fe07:69ea", 0,
     "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {58, "fe80::260:97ff:fe07:69ea", 136, "fe80::200:86ff:fe05:80da", 0,
     "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {58, "fe80::260:97ff:fe07:69ea", 135, "fe80::200:86ff:fe05:80da", 0,
     "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
    {58, "fe80::200:86ff:fe05:80da", 136, "fe80::260:97ff:fe07:69ea", 0,
     "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
    /* ICMPv6 errors (one-way). */
    {58, "3ffe:501:1800:2345::2", 3, "3ffe:507:0:1:200:86ff:fe05:80da", 0,
     "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
    {58, "3ffe:501:410:0:2c0:dfff:fe47:33e", 1, "3ffe:507:0:1:200:86ff:fe05:80da", 4,
     "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
    /* One-way with the larger address first: must not be reordered. */
    {58, "3ffe:507:0:1:260:97ff:fe07:69ea", 3, "3ffe:507:0:1:200:86ff:fe05:80da", 0,
     "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=", "1:OlOWx9psIbBFi7lOCw/4MhlKR9M="},
    {58, "3ffe:507:0:1:200:86ff:fe05:80da", 3, "3ffe:507:0:1:260:97ff:fe07:69ea", 0,
     "1:/OGBt9BN1ofenrmSPWYicpij2Vc=", "1:Ij4ZxnC87/MXzhOjvH2vHu7LRmE="},
    /* ICMPv6 echo request / reply. */
    {58, "3ffe:507:0:1:200:86ff:fe05:80da", 128, "3ffe:501:0:1001::2", 0,
     "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    {58, "3ffe:501:0:1001::2", 129, "3ffe:507:0:1:200:86ff:fe05:80da", 0,
     "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    /* ICMPv6 router solicitation / advertisement to multicast. */
    {58, "fe80::200:86ff:fe05:80da", 133, "ff02::2", 0,
     "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
    {58, "fe80::260:97ff:fe07:69ea", 134, "ff02::1", 0,
     "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
    /* RSVP (46): no port fields in the hash; the ports given are ignored. */
    {46, "10.1.12.1", 0, "10.1.12.2", 0,
     "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
    {46, "10.1.12.2", 1234, "10.1.12.1", 80,
     "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
    {46, "10.1.24.4", 0, "10.1.12.1", 0,
     "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=", "1:BK3BVW3U2eemuwVQVN3zd/GULno="},
};

static void test_spec_vectors_seed0(void **state)
{
    (void)state;
    char out[LW_COMMUNITY_ID_LEN];
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct vector *v = &vectors[i];
        cid(0, v->proto, v->saddr, v->sport, v->daddr, v->dport, out);
        assert_string_equal(out, v->seed0);
    }
}

static void test_spec_vectors_seed1(void **state)
{
    (void)state;
    char out[LW_COMMUNITY_ID_LEN];
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct vector *v = &vectors[i];
        cid(1, v->proto, v->saddr, v->sport, v->daddr, v->dport, out);
        assert_string_equal(out, v->seed1);
    }
}

static void test_output_shape(void **state)
{
    (void)state;
    char out[LW_COMMUNITY_ID_LEN];
    memset(out, 'x', sizeof(out));
    cid(0, 6, "10.0.0.1", 1, "10.0.0.2", 2, out);
    assert_int_equal(strlen(out), 30); /* "1:" + 28 base64 characters */
    assert_memory_equal(out, "1:", 2);
    assert_int_equal(out[29], '=');
}

static void test_seed_changes_id(void **state)
{
    (void)state;
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN];
    cid(0, 6, "10.0.0.1", 1000, "10.0.0.2", 443, a);
    cid(0x0100, 6, "10.0.0.1", 1000, "10.0.0.2", 443, b);
    assert_string_not_equal(a, b);
    /* The seed is big-endian: 0x0001 and 0x0100 differ. */
    cid(1, 6, "10.0.0.1", 1000, "10.0.0.2", 443, a);
    assert_string_not_equal(a, b);
}

/* Same address on both ends: the ports alone decide the order. */
static void test_equal_addresses_ordered_by_port(void **state)
{
    (void)state;
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN], c[LW_COMMUNITY_ID_LEN];
    cid(0, 6, "127.0.0.1", 5000, "127.0.0.1", 80, a);
    cid(0, 6, "127.0.0.1", 80, "127.0.0.1", 5000, b);
    assert_string_equal(a, b);
    cid(0, 6, "127.0.0.1", 5000, "127.0.0.1", 81, c);
    assert_string_not_equal(a, c);
}

/* Ports are compared as numbers (big-endian), not as host-order bytes:
 * 256 (0x0100) > 1 (0x0001) although its low byte is smaller. */
static void test_port_order_is_numeric(void **state)
{
    (void)state;
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN];
    cid(0, 17, "::1", 256, "::1", 1, a);
    cid(0, 17, "::1", 1, "::1", 256, b);
    assert_string_equal(a, b);
}

/* Addresses compare bytewise, so IPv4 10.0.0.2 < 192.168.0.1 and the
 * reversed tuple meets the forward one; a different port does not. */
static void test_tcp_direction_independent(void **state)
{
    (void)state;
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN], c[LW_COMMUNITY_ID_LEN];
    cid(0, 6, "192.168.0.1", 40000, "10.0.0.2", 443, a);
    cid(0, 6, "10.0.0.2", 443, "192.168.0.1", 40000, b);
    assert_string_equal(a, b);
    cid(0, 6, "10.0.0.2", 443, "192.168.0.1", 40001, c);
    assert_string_not_equal(a, c);
}

static void test_protocol_changes_id(void **state)
{
    (void)state;
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN];
    cid(0, 6, "10.0.0.1", 53, "10.0.0.2", 53, a);
    cid(0, 17, "10.0.0.1", 53, "10.0.0.2", 53, b);
    assert_string_not_equal(a, b);
}

/* Every request/reply pair of both tables: request A->B and reply B->A give
 * one ID whatever the codes; the request sent the other way gives another. */
static void check_pair(uint8_t proto, const char *x, const char *y, uint16_t req, uint16_t rep)
{
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN], c[LW_COMMUNITY_ID_LEN];
    cid(0, proto, x, req, y, 0, a);
    cid(0, proto, y, rep, x, 7, b);
    assert_string_equal(a, b);
    cid(0, proto, y, req, x, 0, c);
    assert_string_not_equal(a, c);
}

static void test_icmp4_pairs(void **state)
{
    (void)state;
    check_pair(1, "10.0.0.1", "10.0.0.2", 8, 0);
    check_pair(1, "10.0.0.1", "10.0.0.2", 13, 14);
    check_pair(1, "10.0.0.1", "10.0.0.2", 15, 16);
    check_pair(1, "10.0.0.1", "10.0.0.2", 17, 18);
    check_pair(1, "10.0.0.1", "10.0.0.2", 10, 9);
    /* And the replies as the first half, from the larger address. */
    check_pair(1, "10.0.0.2", "10.0.0.1", 0, 8);
    check_pair(1, "10.0.0.2", "10.0.0.1", 9, 10);
}

static void test_icmp6_pairs(void **state)
{
    (void)state;
    check_pair(58, "fe80::1", "fe80::2", 128, 129);
    check_pair(58, "fe80::1", "fe80::2", 133, 134);
    check_pair(58, "fe80::1", "fe80::2", 135, 136);
    check_pair(58, "fe80::1", "fe80::2", 130, 131);
    check_pair(58, "fe80::1", "fe80::2", 139, 140);
    check_pair(58, "fe80::1", "fe80::2", 144, 145);
}

/* The tables are per protocol: ICMPv4 echo (8) means nothing to ICMPv6 and
 * ICMPv6 echo (128) nothing to ICMPv4, so those are one-way. */
static void test_icmp_tables_not_mixed(void **state)
{
    (void)state;
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN];
    cid(0, 58, "fe80::1", 8, "fe80::2", 0, a);
    cid(0, 58, "fe80::2", 0, "fe80::1", 0, b);
    assert_string_not_equal(a, b);
    cid(0, 1, "10.0.0.1", 128, "10.0.0.2", 0, a);
    cid(0, 1, "10.0.0.2", 129, "10.0.0.1", 0, b);
    assert_string_not_equal(a, b);
}

/* One-way types hash (type, code): the code matters, the direction too. */
static void test_icmp_one_way(void **state)
{
    (void)state;
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN];
    cid(0, 1, "10.0.0.1", 3, "10.0.0.2", 1, a);
    cid(0, 1, "10.0.0.1", 3, "10.0.0.2", 3, b);
    assert_string_not_equal(a, b);
    cid(0, 1, "10.0.0.2", 3, "10.0.0.1", 1, b);
    assert_string_not_equal(a, b);
}

/* A "type" above 255 is not truncated into the table: 264 is not echo. */
static void test_icmp_type_not_truncated(void **state)
{
    (void)state;
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN];
    cid(0, 1, "192.168.0.89", 8, "192.168.0.1", 0, a);
    cid(0, 1, "192.168.0.89", 256 + 8, "192.168.0.1", 0, b);
    assert_string_not_equal(a, b);
}

/* For a port-less protocol the ports must not reach the hash. */
static void test_portless_ignores_ports(void **state)
{
    (void)state;
    char a[LW_COMMUNITY_ID_LEN], b[LW_COMMUNITY_ID_LEN];
    cid(0, 47, "10.0.0.1", 0, "10.0.0.2", 0, a);
    cid(0, 47, "10.0.0.1", 65535, "10.0.0.2", 1, b);
    assert_string_equal(a, b);
    /* ... while for UDP they do. */
    cid(0, 17, "10.0.0.1", 0, "10.0.0.2", 0, a);
    cid(0, 17, "10.0.0.1", 65535, "10.0.0.2", 1, b);
    assert_string_not_equal(a, b);
}

static void test_mixed_families_rejected(void **state)
{
    (void)state;
    char out[LW_COMMUNITY_ID_LEN];
    lw_addr v4 = addr("10.0.0.1"), v6 = addr("::a00:1");
    memset(out, 'x', sizeof(out));
    assert_int_equal(lw_community_id_v1(0, 6, &v4, 1, &v6, 2, out), LW_ERR_INVAL);
    assert_string_equal(out, "");
    assert_int_equal(lw_community_id_v1(0, 6, &v6, 1, &v4, 2, out), LW_ERR_INVAL);
}

static void test_unset_family_rejected(void **state)
{
    (void)state;
    char out[LW_COMMUNITY_ID_LEN];
    lw_addr unset, odd;
    memset(&unset, 0, sizeof(unset));
    odd = addr("10.0.0.1");
    odd.family = 5;
    memset(out, 'x', sizeof(out));
    assert_int_equal(lw_community_id_v1(0, 6, &unset, 1, &unset, 2, out), LW_ERR_INVAL);
    assert_string_equal(out, "");
    assert_int_equal(lw_community_id_v1(0, 6, &odd, 1, &odd, 2, out), LW_ERR_INVAL);
}

static void test_null_address_rejected(void **state)
{
    (void)state;
    char out[LW_COMMUNITY_ID_LEN];
    lw_addr a = addr("10.0.0.1");
    assert_int_equal(lw_community_id_v1(0, 6, NULL, 1, &a, 2, out), LW_ERR_INVAL);
    assert_int_equal(lw_community_id_v1(0, 6, &a, 1, NULL, 2, out), LW_ERR_INVAL);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vectors_seed0),
        cmocka_unit_test(test_spec_vectors_seed1),
        cmocka_unit_test(test_output_shape),
        cmocka_unit_test(test_seed_changes_id),
        cmocka_unit_test(test_equal_addresses_ordered_by_port),
        cmocka_unit_test(test_port_order_is_numeric),
        cmocka_unit_test(test_tcp_direction_independent),
        cmocka_unit_test(test_protocol_changes_id),
        cmocka_unit_test(test_icmp4_pairs),
        cmocka_unit_test(test_icmp6_pairs),
        cmocka_unit_test(test_icmp_tables_not_mixed),
        cmocka_unit_test(test_icmp_one_way),
        cmocka_unit_test(test_icmp_type_not_truncated),
        cmocka_unit_test(test_portless_ignores_ports),
        cmocka_unit_test(test_mixed_families_rejected),
        cmocka_unit_test(test_unset_family_rejected),
        cmocka_unit_test(test_null_address_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
