/* test_sha256.c - unit tests of sha256_hex(): FIPS 180-4 example vectors
 * and the lengths around the padding boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

/* An input: text, or n copies of the byte fill when text is NULL; or, when
 * fill is -1, the bytes 0..255 repeated up to n. */
struct vec {
    const char *what;
    const char *text;
    size_t n;
    int fill;
    const char *hex;
};

static const struct vec vecs[] = {
    /* FIPS 180-4 / NIST CSRC SHA-256 examples */
    {"empty", "", 0, 0,
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "abc", 0, 0,
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"448 bits", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
     0, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"896 bits",
     "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
     "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     0, 0, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {"a x 1,000,000", NULL, 1000000, 'a',
     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    /* Padding: 55 bytes is the longest one-block message, 56 the shortest
     * that needs a second block for the length; then a full block, and
     * the same boundaries one block further. */
    {"a x 55", NULL, 55, 'a',
     "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
    {"a x 56", NULL, 56, 'a',
     "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
    {"a x 63", NULL, 63, 'a',
     "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
    {"a x 64", NULL, 64, 'a',
     "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    {"a x 65", NULL, 65, 'a',
     "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
    {"a x 119", NULL, 119, 'a',
     "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
    {"a x 120", NULL, 120, 'a',
     "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    {"a x 128", NULL, 128, 'a',
     "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    /* Every byte value, NULs and bytes above 0x7f included. */
    {"bytes 0..255 x 4", NULL, 1024, -1,
     "785b0751fc2c53dc14a4ce3d800e69ef9ce1009eb327ccf458afe09c242c26c9"},
};

static void test_known_digests(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        const struct vec *v = &vecs[i];
        size_t n = v->text ? strlen(v->text) : v->n;
        unsigned char *buf = malloc(n ? n : 1);
        char hex[66];

        assert_non_null(buf);
        if (v->text)
            memcpy(buf, v->text, n);
        else if (v->fill >= 0)
            memset(buf, v->fill, n);
        else
            for (size_t k = 0; k < n; k++)
                buf[k] = (unsigned char)k;
        memset(hex, 'X', sizeof(hex));
        sha256_hex(buf, n, hex);
        if (hex[64] != '\0' || strcmp(hex, v->hex))
            fail_msg("%s: got %.64s, want %s", v->what, hex, v->hex);
        assert_int_equal(hex[65], 'X'); /* nothing written past hex[64] */
        free(buf);
    }
}

/* The digest depends on the bytes only, not on where the buffer sits
 * (no alignment assumption). */
static void test_unaligned_buffer_same_digest(void **state)
{
    static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmn"
                              "omnopnopq";
    char buf[sizeof(msg) + 8], hex[65];

    (void)state;
    for (size_t off = 0; off < 8; off++) {
        memcpy(buf + off, msg, sizeof(msg) - 1);
        sha256_hex(buf + off, sizeof(msg) - 1, hex);
        assert_string_equal(hex, vecs[2].hex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_digests),
        cmocka_unit_test(test_unaligned_buffer_same_digest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
