/*
 * Smoke test of Sylvan's C ABI from real C (include/sylvan.h): what only a C program can check.
 * That the header compiles and its declarations link against the shared and the static library;
 * that C's arrays, pointer arrays, strings, size_t out-parameters and the SylvanPredictOptions struct
 * cross the boundary as the header says (also the size_t index array and int feature-type buffers of
 * categorical features); and memory ownership: the library writes no byte past a
 * caller's buffer (a malloc'd buffer of the exact size, checked by AddressSanitizer), every handle
 * is freed exactly once (LeakSanitizer), the error string stays readable after a failed call, and
 * repeated predictions and trainings keep the resident memory flat (in the build without
 * AddressSanitizer).
 *
 * What the calls compute (accuracy, margins, iteration ranges, error codes and messages, save/load
 * round trips, weights, early stopping) is pinned once, in src/tests.rs, not here.
 *
 * Usage: smoke WORK_DIR   (a writable directory for the model files)
 * Exit status 0 when every check passed. bindings/c/tests/run.sh builds and runs it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sylvan.h"

static int passed = 0;
static int failed = 0;

/* Records one check; on failure prints it with the library's last error message. */
#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (cond) {                                                                       \
            passed++;                                                                     \
        } else {                                                                          \
            failed++;                                                                     \
            fprintf(stderr, "FAILED %s:%d: %s\n  ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fprintf(stderr, "\n  sylvan_last_error(): \"%s\"\n", sylvan_last_error());    \
        }                                                                                 \
    } while (0)

/* A status check that must pass for the rest of the test to make sense. */
#define REQUIRE_OK(call)                                                                  \
    do {                                                                                  \
        int rc_ = (call);                                                                 \
        CHECK(rc_ == SYLVAN_OK, "%s returned %d", #call, rc_);                            \
        if (rc_ != SYLVAN_OK) {                                                           \
            return finish();                                                              \
        }                                                                                 \
    } while (0)

static int finish(void) {
    printf("smoke: %d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

/* A small deterministic generator (xorshift32), uniform in [0, 1). */
static uint32_t rng_state = 2463534242u;
static float uniform(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (float)(rng_state >> 8) / 16777216.0f;
}

enum { NUM_TRAIN = 1500, NUM_TEST = 500, NUM_ROWS = NUM_TRAIN + NUM_TEST, NUM_COLS = 4 };

static int predict_all(const SylvanBooster *booster, const SylvanDataset *data, const SylvanPredictOptions *options,
                       float *out, size_t out_len) {
    size_t needed = 0;
    int rc = sylvan_booster_predict(booster, data, options, out, out_len, &needed);
    if (rc == SYLVAN_OK && needed != out_len) {
        fprintf(stderr, "prediction needs %zu values, expected %zu\n", needed, out_len);
        return -100;
    }
    return rc;
}

#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
/* This process's resident memory in KiB (VmRSS of /proc/self/status), or -1. */
static long resident_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}
#endif

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORK_DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    const char *version = sylvan_version();
    CHECK(version != NULL && strlen(version) > 0, "sylvan_version() is empty");
    printf("sylvan %s\n", version);

    /* y = 1 when x0 + x1 > 1; x2 is noise with 10% missing values (NaN); x3 is noise. Training
     * rows are row-major, test rows column-major, to use both layouts. */
    static float train_x[NUM_TRAIN * NUM_COLS];
    static float test_x[NUM_TEST * NUM_COLS];
    static float train_y[NUM_TRAIN];
    static float test_y[NUM_TEST];
    for (int i = 0; i < NUM_ROWS; i++) {
        float x[NUM_COLS];
        x[0] = uniform();
        x[1] = uniform();
        x[2] = uniform() < 0.1f ? NAN : uniform();
        x[3] = uniform() * 10.0f;
        float y = x[0] + x[1] > 1.0f ? 1.0f : 0.0f;
        for (int j = 0; j < NUM_COLS; j++) {
            if (i < NUM_TRAIN) {
                train_x[i * NUM_COLS + j] = x[j];
            } else {
                test_x[j * NUM_TEST + (i - NUM_TRAIN)] = x[j];
            }
        }
        if (i < NUM_TRAIN) {
            train_y[i] = y;
        } else {
            test_y[i - NUM_TRAIN] = y;
        }
    }

    SylvanDataset *train = NULL;
    SylvanDataset *test = NULL;
    REQUIRE_OK(sylvan_dataset_create(train_x, NUM_TRAIN, NUM_COLS, SYLVAN_ROW_MAJOR, train_y, NULL, &train));
    REQUIRE_OK(sylvan_dataset_create(test_x, NUM_TEST, NUM_COLS, SYLVAN_COL_MAJOR, test_y, NULL, &test));
    size_t rows = 0, cols = 0;
    REQUIRE_OK(sylvan_dataset_num_rows(test, &rows));
    REQUIRE_OK(sylvan_dataset_num_cols(test, &cols));
    CHECK(rows == NUM_TEST && cols == NUM_COLS, "test set is %zu x %zu", rows, cols);

    /* Train with numbers and strings as parameter values, and the test set as evaluation set. */
    const char *params = "{\"objective\":\"binary:logistic\",\"max_depth\":4,\"eta\":\"0.3\",\"num_round\":50,"
                         "\"eval_metric\":[\"logloss\",\"auc\"],\"seed\":7}";
    const SylvanDataset *evals[1] = {test};
    const char *eval_names[1] = {"test"};
    SylvanBooster *booster = NULL;
    REQUIRE_OK(sylvan_booster_train(train, params, evals, eval_names, 1, &booster));
    size_t rounds = 0, features = 0;
    REQUIRE_OK(sylvan_booster_num_rounds(booster, &rounds));
    REQUIRE_OK(sylvan_booster_num_features(booster, &features));
    CHECK(rounds == 50 && features == NUM_COLS, "rounds %zu, features %zu", rounds, features);

    /* Size queries: the options struct is read field by field (output, then the two size_t). */
    size_t needed = 0;
    REQUIRE_OK(sylvan_booster_predict(booster, test, NULL, NULL, 0, &needed));
    CHECK(needed == NUM_TEST, "size query says %zu", needed);
    SylvanPredictOptions leaves = {SYLVAN_PREDICT_LEAF_INDEX, 0, 0};
    REQUIRE_OK(sylvan_booster_predict(booster, test, &leaves, NULL, 0, &needed));
    CHECK(needed == (size_t)NUM_TEST * 50, "leaf indices of 50 trees: size query says %zu", needed);
    leaves.iteration_begin = 10;
    leaves.iteration_end = 13;
    REQUIRE_OK(sylvan_booster_predict(booster, test, &leaves, NULL, 0, &needed));
    CHECK(needed == (size_t)NUM_TEST * 3, "leaf indices of rounds 10..13: size query says %zu", needed);

    /* Predict into a caller's buffer of exactly the needed size (ASan checks every write). */
    float *prob = malloc(NUM_TEST * sizeof *prob);
    CHECK(prob != NULL, "malloc");
    if (prob == NULL) {
        return finish();
    }
    for (int i = 0; i < NUM_TEST; i++) {
        prob[i] = -1.0f;
    }
    REQUIRE_OK(predict_all(booster, test, NULL, prob, NUM_TEST));
    int in_range = 1;
    for (int i = 0; i < NUM_TEST; i++) {
        in_range &= prob[i] >= 0.0f && prob[i] <= 1.0f;
    }
    CHECK(in_range, "probabilities outside [0, 1]: the buffer was not filled");
    free(prob);

    /* A buffer one value too small, allocated at that size: refused, and nothing written past it. */
    float *small = malloc((NUM_TEST - 1) * sizeof *small);
    CHECK(small != NULL, "malloc");
    if (small == NULL) {
        return finish();
    }
    int rc = sylvan_booster_predict(booster, test, NULL, small, NUM_TEST - 1, &needed);
    CHECK(rc == SYLVAN_ERR_BUFFER_TOO_SMALL, "too-small buffer gave %d", rc);
    free(small);

    /* Save as JSON and binary from a C path string, load each into a new handle, use and free it. */
    const char *names[2] = {"model.json", "model.sylvan"};
    for (int k = 0; k < 2; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        REQUIRE_OK(sylvan_booster_save(booster, path));
        SylvanBooster *loaded = NULL;
        REQUIRE_OK(sylvan_booster_load(path, &loaded));
        REQUIRE_OK(sylvan_booster_predict(loaded, test, NULL, NULL, 0, &needed));
        CHECK(needed == NUM_TEST, "loaded %s: size query says %zu", names[k], needed);
        REQUIRE_OK(sylvan_booster_free(loaded));
    }

    /* Categorical features: column 0 holds category codes 0..9 (as floats, NaN missing), and y = 1
     * for the scattered codes {2, 3, 5, 7}; stumps split it by a set of categories. The index array
     * is size_t, the type buffers int, as the header declares. */
    enum { CAT_ROWS = 400, CAT_COLS = 2 };
    static float cat_x[CAT_ROWS * CAT_COLS];
    static float cat_y[CAT_ROWS];
    for (int i = 0; i < CAT_ROWS; i++) {
        int code = (i * 7) % 10;
        cat_x[i * CAT_COLS] = i % 23 == 0 ? NAN : (float)code;
        cat_x[i * CAT_COLS + 1] = uniform();
        cat_y[i] = i % 23 != 0 && (code == 2 || code == 3 || code == 5 || code == 7) ? 1.0f : 0.0f;
    }
    SylvanDataset *cat = NULL;
    REQUIRE_OK(sylvan_dataset_create(cat_x, CAT_ROWS, CAT_COLS, SYLVAN_ROW_MAJOR, cat_y, NULL, &cat));
    const size_t categorical[1] = {0};
    REQUIRE_OK(sylvan_dataset_set_categorical(cat, categorical, 1));
    int *types = malloc(CAT_COLS * sizeof *types);
    CHECK(types != NULL, "malloc");
    if (types == NULL) {
        return finish();
    }
    REQUIRE_OK(sylvan_dataset_feature_types(cat, types, CAT_COLS, &needed));
    CHECK(needed == CAT_COLS && types[0] == SYLVAN_FEATURE_CATEGORICAL && types[1] == SYLVAN_FEATURE_NUMERICAL,
          "dataset feature types %d %d (%zu)", types[0], types[1], needed);
    /* A bad index is refused and names the argument. */
    const size_t beyond[1] = {CAT_COLS};
    rc = sylvan_dataset_set_categorical(cat, beyond, 1);
    CHECK(rc == SYLVAN_ERR_INVALID_ARGUMENT && strstr(sylvan_last_error(), "indices") != NULL,
          "index beyond the columns gave %d", rc);
    SylvanBooster *cat_booster = NULL;
    REQUIRE_OK(sylvan_booster_train(cat, "{\"objective\":\"binary:logistic\",\"max_depth\":1,\"num_round\":4,"
                                         "\"eta\":1,\"min_data_per_group\":5}",
                                    NULL, NULL, 0, &cat_booster));
    types[0] = types[1] = -1;
    REQUIRE_OK(sylvan_booster_feature_types(cat_booster, types, CAT_COLS, &needed));
    CHECK(needed == CAT_COLS && types[0] == SYLVAN_FEATURE_CATEGORICAL && types[1] == SYLVAN_FEATURE_NUMERICAL,
          "booster feature types %d %d (%zu)", types[0], types[1], needed);
    free(types);
    float *cat_p = malloc(CAT_ROWS * sizeof *cat_p);
    CHECK(cat_p != NULL, "malloc");
    if (cat_p == NULL) {
        return finish();
    }
    REQUIRE_OK(predict_all(cat_booster, cat, NULL, cat_p, CAT_ROWS));
    int cat_correct = 0;
    for (int i = 0; i < CAT_ROWS; i++) {
        cat_correct += (cat_p[i] > 0.5f) == (cat_y[i] > 0.5f);
    }
    CHECK(cat_correct == CAT_ROWS, "category sets: %d of %d rows right", cat_correct, CAT_ROWS);
    free(cat_p);
    /* The same feature declared by the categorical_features parameter instead. */
    SylvanDataset *plain = NULL;
    SylvanBooster *by_param = NULL;
    REQUIRE_OK(sylvan_dataset_create(cat_x, CAT_ROWS, CAT_COLS, SYLVAN_ROW_MAJOR, cat_y, NULL, &plain));
    REQUIRE_OK(sylvan_booster_train(plain, "{\"objective\":\"binary:logistic\",\"categorical_features\":[0],"
                                           "\"num_round\":2}",
                                    NULL, NULL, 0, &by_param));
    int param_types[CAT_COLS] = {-1, -1};
    REQUIRE_OK(sylvan_booster_feature_types(by_param, param_types, CAT_COLS, NULL));
    CHECK(param_types[0] == SYLVAN_FEATURE_CATEGORICAL, "categorical_features param: type %d", param_types[0]);
    /* Attributes are copied into a char buffer; a model trained on numbers has no categories. */
    needed = 99;
    REQUIRE_OK(sylvan_booster_attribute(by_param, "sylvan.categories", NULL, 0, &needed));
    CHECK(needed == 0, "a numeric model has a sylvan.categories attribute of %zu bytes", needed);
    CHECK(sylvan_booster_free(by_param) == SYLVAN_OK, "booster_free");
    CHECK(sylvan_booster_free(cat_booster) == SYLVAN_OK, "booster_free");
    CHECK(sylvan_dataset_free(plain) == SYLVAN_OK, "dataset_free");
    CHECK(sylvan_dataset_free(cat) == SYLVAN_OK, "dataset_free");

    /* Training controls given as JSON: a monotone constraint by feature name (names set from a C
     * array of strings), an interaction group by index, DART. The label rises and falls in x0
     * (sin), so only the constraint makes the model monotone; checked along a grid of x0 values
     * with the other features held at several rows' values. */
    {
        enum { MONO_ROWS = 800, MONO_COLS = 3, GRID = 41, BASES = 5 };
        static float mono_x[MONO_ROWS * MONO_COLS];
        static float mono_y[MONO_ROWS];
        for (int i = 0; i < MONO_ROWS; i++) {
            float x0 = uniform(), x1 = uniform(), x2 = uniform();
            mono_x[i * MONO_COLS] = x0;
            mono_x[i * MONO_COLS + 1] = x1;
            mono_x[i * MONO_COLS + 2] = x2;
            mono_y[i] = 2.0f * x0 + sinf(12.0f * x0) + x1 * x2 + 0.1f * (uniform() - 0.5f);
        }
        SylvanDataset *mono = NULL;
        REQUIRE_OK(sylvan_dataset_create(mono_x, MONO_ROWS, MONO_COLS, SYLVAN_ROW_MAJOR, mono_y, NULL, &mono));
        const char *feature_names[MONO_COLS] = {"x0", "x1", "x2"};
        REQUIRE_OK(sylvan_dataset_set_feature_names(mono, feature_names, MONO_COLS));
        rc = sylvan_dataset_set_feature_names(mono, feature_names, 2);
        CHECK(rc == SYLVAN_ERR_INVALID_ARGUMENT, "2 names for 3 columns gave %d", rc);
        SylvanBooster *constrained = NULL;
        REQUIRE_OK(sylvan_booster_train(mono,
                                        "{\"objective\":\"reg:squarederror\",\"monotone_constraints\":{\"x0\":1},"
                                        "\"interaction_constraints\":[[0,1],[\"x2\"]],\"booster\":\"dart\","
                                        "\"rate_drop\":0.1,\"skip_drop\":0.5,\"max_depth\":4,\"eta\":0.3,"
                                        "\"num_round\":30,\"seed\":3}",
                                        NULL, NULL, 0, &constrained));
        static float grid_x[GRID * BASES * MONO_COLS];
        for (int b = 0; b < BASES; b++) {
            for (int g = 0; g < GRID; g++) {
                float *row = &grid_x[(b * GRID + g) * MONO_COLS];
                row[0] = (float)g / (GRID - 1);
                row[1] = mono_x[(b * 97) * MONO_COLS + 1];
                row[2] = mono_x[(b * 97) * MONO_COLS + 2];
            }
        }
        SylvanDataset *grid = NULL;
        REQUIRE_OK(sylvan_dataset_create(grid_x, GRID * BASES, MONO_COLS, SYLVAN_ROW_MAJOR, NULL, NULL, &grid));
        float *grid_p = malloc((size_t)GRID * BASES * sizeof *grid_p);
        CHECK(grid_p != NULL, "malloc");
        if (grid_p == NULL) {
            return finish();
        }
        REQUIRE_OK(predict_all(constrained, grid, NULL, grid_p, (size_t)GRID * BASES));
        int falls = 0;
        for (int b = 0; b < BASES; b++) {
            for (int g = 1; g < GRID; g++) {
                falls += grid_p[b * GRID + g] < grid_p[b * GRID + g - 1];
            }
        }
        CHECK(falls == 0, "monotone_constraints {\"x0\": 1}: the prediction falls %d times along x0", falls);
        CHECK(grid_p[GRID - 1] > grid_p[0], "the prediction does not rise along x0 (%f -> %f)", grid_p[0],
              grid_p[GRID - 1]);
        free(grid_p);
        /* A name the data lacks is refused, naming the parameter and the name. */
        SylvanBooster *unknown = NULL;
        rc = sylvan_booster_train(mono, "{\"monotone_constraints\":{\"debt\":1},\"num_round\":2}", NULL, NULL, 0,
                                  &unknown);
        CHECK(rc == SYLVAN_ERR_INVALID_PARAMETER && strstr(sylvan_last_error(), "monotone_constraints") != NULL &&
                  strstr(sylvan_last_error(), "debt") != NULL && unknown == NULL,
              "an unknown feature name in monotone_constraints gave %d", rc);
        CHECK(sylvan_booster_free(constrained) == SYLVAN_OK, "booster_free");
        CHECK(sylvan_dataset_free(grid) == SYLVAN_OK, "dataset_free");
        CHECK(sylvan_dataset_free(mono) == SYLVAN_OK, "dataset_free");
    }

    /* Ranking and survival data: query ids (the rows of a query need not be contiguous), group
     * sizes and interval label bounds (NaN or INFINITY upper = right-censored). */
    {
        float rx[6 * 2];
        float ry[6] = {0, 1, 2, 0, 1, 0};
        for (int i = 0; i < 12; i++) {
            rx[i] = (float)((i * 7) % 5);
        }
        SylvanDataset *ranked = NULL;
        REQUIRE_OK(sylvan_dataset_create(rx, 6, 2, SYLVAN_ROW_MAJOR, ry, NULL, &ranked));
        const uint64_t qid[6] = {7, 3, 7, 3, 9, 7};
        CHECK(sylvan_dataset_set_query_ids(ranked, qid, 6) == SYLVAN_OK, "set_query_ids: %s", sylvan_last_error());
        rc = sylvan_dataset_set_query_ids(ranked, qid, 5);
        CHECK(rc == SYLVAN_ERR_INVALID_ARGUMENT, "5 query ids for 6 rows gave %d", rc);
        const size_t sizes[2] = {4, 2};
        CHECK(sylvan_dataset_set_group_sizes(ranked, sizes, 2) == SYLVAN_OK, "set_group_sizes: %s",
              sylvan_last_error());
        const size_t short_sizes[2] = {4, 1};
        rc = sylvan_dataset_set_group_sizes(ranked, short_sizes, 2);
        CHECK(rc == SYLVAN_ERR_INVALID_DATA, "group sizes adding up to 5 of 6 rows gave %d", rc);
        const float lower[6] = {1, 2, 0, 4, 5, 6};
        const float upper[6] = {1, INFINITY, 3, NAN, 5, 7};
        CHECK(sylvan_dataset_set_label_bounds(ranked, lower, upper, 6) == SYLVAN_OK, "set_label_bounds: %s",
              sylvan_last_error());
        const float inverted[6] = {1, 2, 0, 4, 4, 6};
        rc = sylvan_dataset_set_label_bounds(ranked, lower, inverted, 6);
        CHECK(rc == SYLVAN_ERR_INVALID_DATA && strstr(sylvan_last_error(), "row 4") != NULL,
              "an upper bound below the lower bound gave %d (%s)", rc, sylvan_last_error());
        CHECK(sylvan_dataset_free(ranked) == SYLVAN_OK, "dataset_free");
    }

    /* Several outputs: a row-major label matrix of two targets (trained once per multi_strategy) and
     * three quantile levels; predictions fill num_rows * k floats of a malloc'd buffer of exactly
     * that size, k from sylvan_booster_num_outputs. */
    {
        enum { MO_ROWS = 300, MO_COLS = 2, MO_TARGETS = 2, MO_LEVELS = 3 };
        static float mo_x[MO_ROWS * MO_COLS];
        static float mo_y[MO_ROWS * MO_TARGETS];
        for (int i = 0; i < MO_ROWS; i++) {
            float x0 = uniform(), x1 = uniform();
            mo_x[i * MO_COLS] = x0;
            mo_x[i * MO_COLS + 1] = x1;
            mo_y[i * MO_TARGETS] = 3.0f * x0 + 0.2f * uniform();
            mo_y[i * MO_TARGETS + 1] = -2.0f * x1 + 0.2f * uniform();
        }
        SylvanDataset *multi = NULL;
        REQUIRE_OK(sylvan_dataset_create(mo_x, MO_ROWS, MO_COLS, SYLVAN_ROW_MAJOR, NULL, NULL, &multi));
        REQUIRE_OK(sylvan_dataset_set_label_matrix(multi, mo_y, MO_ROWS, MO_TARGETS));
        rc = sylvan_dataset_set_label_matrix(multi, mo_y, MO_ROWS - 1, MO_TARGETS);
        CHECK(rc == SYLVAN_ERR_INVALID_ARGUMENT && strstr(sylvan_last_error(), "num_rows") != NULL,
              "a label matrix of the wrong number of rows gave %d", rc);
        const char *strategies[2] = {
            "{\"objective\":\"reg:squarederror\",\"num_round\":20,\"max_depth\":3}",
            "{\"objective\":\"reg:squarederror\",\"num_round\":20,\"max_depth\":3,"
            "\"multi_strategy\":\"multi_output_tree\"}",
        };
        for (int s = 0; s < 2; s++) {
            SylvanBooster *two = NULL;
            REQUIRE_OK(sylvan_booster_train(multi, strategies[s], NULL, NULL, 0, &two));
            size_t k = 0;
            REQUIRE_OK(sylvan_booster_num_outputs(two, &k));
            CHECK(k == MO_TARGETS, "strategy %d: %zu outputs for 2 targets", s, k);
            float *two_p = malloc((size_t)MO_ROWS * MO_TARGETS * sizeof *two_p);
            CHECK(two_p != NULL, "malloc");
            if (two_p == NULL) {
                return finish();
            }
            REQUIRE_OK(predict_all(two, multi, NULL, two_p, (size_t)MO_ROWS * MO_TARGETS));
            /* Each output follows its own target: the first rises, the second falls. */
            double err0 = 0.0, err1 = 0.0;
            for (int i = 0; i < MO_ROWS; i++) {
                err0 += fabs(two_p[i * MO_TARGETS] - mo_y[i * MO_TARGETS]);
                err1 += fabs(two_p[i * MO_TARGETS + 1] - mo_y[i * MO_TARGETS + 1]);
            }
            CHECK(err0 / MO_ROWS < 0.3 && err1 / MO_ROWS < 0.3, "strategy %d: mean errors %f %f", s,
                  err0 / MO_ROWS, err1 / MO_ROWS);
            free(two_p);
            CHECK(sylvan_booster_free(two) == SYLVAN_OK, "booster_free");
        }
        CHECK(sylvan_dataset_free(multi) == SYLVAN_OK, "dataset_free");

        SylvanDataset *single = NULL;
        float mo_first[MO_ROWS];
        for (int i = 0; i < MO_ROWS; i++) {
            mo_first[i] = mo_y[i * MO_TARGETS] + uniform();
        }
        REQUIRE_OK(sylvan_dataset_create(mo_x, MO_ROWS, MO_COLS, SYLVAN_ROW_MAJOR, mo_first, NULL, &single));
        SylvanBooster *quantiles = NULL;
        REQUIRE_OK(sylvan_booster_train(single, "{\"objective\":\"reg:quantileerror\","
                                                "\"quantile_alpha\":[0.1,0.5,0.9],\"num_round\":20}",
                                        NULL, NULL, 0, &quantiles));
        size_t k = 0;
        REQUIRE_OK(sylvan_booster_num_outputs(quantiles, &k));
        CHECK(k == MO_LEVELS, "%zu outputs for 3 quantile levels", k);
        float *q = malloc((size_t)MO_ROWS * MO_LEVELS * sizeof *q);
        CHECK(q != NULL, "malloc");
        if (q == NULL) {
            return finish();
        }
        REQUIRE_OK(predict_all(quantiles, single, NULL, q, (size_t)MO_ROWS * MO_LEVELS));
        int crossing = 0;
        for (int i = 0; i < MO_ROWS; i++) {
            crossing += !(q[i * MO_LEVELS] <= q[i * MO_LEVELS + 1] && q[i * MO_LEVELS + 1] <= q[i * MO_LEVELS + 2]);
        }
        CHECK(crossing == 0, "quantiles cross in %d rows", crossing);
        free(q);
        CHECK(sylvan_booster_free(quantiles) == SYLVAN_OK, "booster_free");
        CHECK(sylvan_dataset_free(single) == SYLVAN_OK, "dataset_free");
    }

    /* Explanations (SHAP contributions): a malloc'd buffer of exactly num_rows * (num_features + 1)
     * floats, its size from sylvan_booster_output_columns; each row's values (features, then the
     * bias) sum to the row's margin. Interactions fill (num_features + 1)^2 per row. Feature
     * importance of every type into a double buffer; an unknown type is refused. */
    {
        enum { EX_ROWS = 20 };
        size_t per_row = 0;
        REQUIRE_OK(sylvan_booster_output_columns(booster, SYLVAN_PREDICT_CONTRIBUTIONS, &per_row));
        CHECK(per_row == NUM_COLS + 1, "%zu contributions per row for %d features", per_row, NUM_COLS);
        size_t all = (size_t)NUM_TEST * per_row;
        float *phi = malloc(all * sizeof *phi);
        float *margin = malloc(NUM_TEST * sizeof *margin);
        CHECK(phi != NULL && margin != NULL, "malloc");
        if (phi == NULL || margin == NULL) {
            return finish();
        }
        SylvanPredictOptions contribs = {SYLVAN_PREDICT_CONTRIBUTIONS, 0, 0};
        SylvanPredictOptions margins = {SYLVAN_PREDICT_MARGIN, 0, 0};
        REQUIRE_OK(predict_all(booster, test, &contribs, phi, all));
        REQUIRE_OK(predict_all(booster, test, &margins, margin, NUM_TEST));
        int off = 0;
        for (int i = 0; i < EX_ROWS; i++) {
            double sum = 0.0;
            for (size_t j = 0; j < per_row; j++) {
                sum += phi[(size_t)i * per_row + j];
            }
            off += fabs(sum - margin[i]) > 1e-4;
        }
        CHECK(off == 0, "contributions of %d of %d rows do not sum to the margin", off, EX_ROWS);
        free(phi);
        free(margin);

        size_t pairs = 0;
        REQUIRE_OK(sylvan_booster_output_columns(booster, SYLVAN_PREDICT_INTERACTIONS, &pairs));
        CHECK(pairs == (NUM_COLS + 1) * (NUM_COLS + 1), "%zu interaction values per row", pairs);
        SylvanPredictOptions interactions = {SYLVAN_PREDICT_INTERACTIONS, 0, 0};
        REQUIRE_OK(sylvan_booster_predict(booster, test, &interactions, NULL, 0, &needed));
        CHECK(needed == (size_t)NUM_TEST * pairs, "interactions: size query says %zu", needed);

        const char *types[5] = {"weight", "gain", "cover", "total_gain", "total_cover"};
        double *importance = malloc(NUM_COLS * sizeof *importance);
        CHECK(importance != NULL, "malloc");
        if (importance == NULL) {
            return finish();
        }
        for (int t = 0; t < 5; t++) {
            size_t got = 0;
            REQUIRE_OK(sylvan_booster_feature_importance(booster, types[t], importance, NUM_COLS, &got));
            CHECK(got == NUM_COLS && importance[0] > 0.0 && importance[1] > 0.0,
                  "%s importance of x0, x1: %f %f", types[t], importance[0], importance[1]);
        }
        rc = sylvan_booster_feature_importance(booster, "weights", importance, NUM_COLS, NULL);
        CHECK(rc == SYLVAN_ERR_INVALID_ARGUMENT && strstr(sylvan_last_error(), "weights") != NULL,
              "an unknown importance type gave %d", rc);
        free(importance);
    }

    {
        /* Checkpoints: a run of 6 rounds leaves checkpoints after rounds 3 and 6 in a folder the
         * library creates; resumed with num_round 9, it goes on from the newest to 9 rounds. */
        char ckpt_dir[4096];
        snprintf(ckpt_dir, sizeof ckpt_dir, "%s/checkpoints", dir);
        SylvanBooster *first = NULL;
        SylvanBooster *resumed = NULL;
        REQUIRE_OK(sylvan_booster_train_with_checkpoints(
            train, "{\"objective\":\"binary:logistic\",\"num_round\":6}", NULL, NULL, 0, ckpt_dir, 3, 2, 0, &first));
        REQUIRE_OK(sylvan_booster_train_with_checkpoints(
            train, "{\"objective\":\"binary:logistic\",\"num_round\":9}", NULL, NULL, 0, ckpt_dir, 3, 2, 1, &resumed));
        size_t resumed_rounds = 0;
        REQUIRE_OK(sylvan_booster_num_rounds(resumed, &resumed_rounds));
        CHECK(resumed_rounds == 9, "the resumed run has %zu rounds", resumed_rounds);
        CHECK(sylvan_booster_free(first) == SYLVAN_OK, "booster_free");
        CHECK(sylvan_booster_free(resumed) == SYLVAN_OK, "booster_free");
    }

#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
    {
        /* No leaks: 100,000 single-row predictions, 1,000 one-row data sets made and freed, and 50
         * small trainings keep the resident memory flat (AddressSanitizer's quarantine would hold
         * freed memory, so this runs in the build without it; LeakSanitizer checks that one). */
        SylvanDataset *one = NULL;
        REQUIRE_OK(sylvan_dataset_create(train_x, 1, NUM_COLS, SYLVAN_ROW_MAJOR, NULL, NULL, &one));
        float out = 0.0f;
        const char *small = "{\"objective\":\"binary:logistic\",\"max_depth\":3,\"num_round\":10}";
        for (int warm = 0; warm < 2; warm++) {
            long before = resident_kib();
            int predictions = warm ? 100000 : 2000, trainings = warm ? 50 : 5, failures = 0;
            for (int i = 0; i < predictions; i++) {
                failures += sylvan_booster_predict(booster, one, NULL, &out, 1, NULL) != SYLVAN_OK;
            }
            for (int i = 0; i < predictions / 100; i++) {
                SylvanDataset *d = NULL;
                failures += sylvan_dataset_create(train_x + i % 100, 1, NUM_COLS, SYLVAN_ROW_MAJOR, NULL, NULL, &d) !=
                            SYLVAN_OK;
                failures += sylvan_dataset_free(d) != SYLVAN_OK;
            }
            for (int i = 0; i < trainings; i++) {
                SylvanBooster *b = NULL;
                failures += sylvan_booster_train(train, small, NULL, NULL, 0, &b) != SYLVAN_OK;
                failures += sylvan_booster_free(b) != SYLVAN_OK;
            }
            CHECK(failures == 0, "%d calls of the leak loop failed: %s", failures, sylvan_last_error());
            long growth = resident_kib() - before;
            if (warm) {
                printf("resident memory growth over 100,000 predictions and 50 trainings: %ld KiB\n", growth);
                CHECK(before > 0 && growth < 16 * 1024, "resident memory grew by %ld KiB", growth);
            }
        }
        CHECK(sylvan_dataset_free(one) == SYLVAN_OK, "dataset_free");
    }
#endif

    /* A failed call: the out-pointer is reset and the message is a readable C string owned by the
     * library, valid until the next call on this thread. */
    SylvanBooster *bad = (SylvanBooster *)(void *)train; /* any non-NULL value: the call must reset it */
    rc = sylvan_booster_train(train, "{\"objective\":\"binary:logistic\",\"max_dpeth\":3}", NULL, NULL, 0,
                              &bad);
    CHECK(rc != SYLVAN_OK, "an unknown parameter was accepted");
    CHECK(bad == NULL, "out is not reset to NULL on error");
    const char *message = sylvan_last_error();
    CHECK(message != NULL && strlen(message) > 0, "no error message");
    printf("error message as C sees it: %s\n", message);

    CHECK(sylvan_booster_free(booster) == SYLVAN_OK, "booster_free");
    CHECK(sylvan_dataset_free(train) == SYLVAN_OK, "dataset_free");
    CHECK(sylvan_dataset_free(test) == SYLVAN_OK, "dataset_free");
    CHECK(sylvan_dataset_free(NULL) == SYLVAN_OK, "dataset_free(NULL)");
    return finish();
}
