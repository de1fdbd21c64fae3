/*
 * Smoke test of Sylvan's C ABI (include/sylvan.h): train on generated data, predict, check the
 * predictions, save and load the model in both formats, and check error paths.
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

    /* Size query, then predict probabilities on the held-out rows. */
    size_t needed = 0;
    REQUIRE_OK(sylvan_booster_predict(booster, test, NULL, NULL, 0, &needed));
    CHECK(needed == NUM_TEST, "size query says %zu", needed);
    static float prob[NUM_TEST];
    REQUIRE_OK(predict_all(booster, test, NULL, prob, NUM_TEST));
    int correct = 0;
    int in_range = 1;
    for (int i = 0; i < NUM_TEST; i++) {
        correct += (prob[i] > 0.5f) == (test_y[i] > 0.5f);
        in_range &= prob[i] >= 0.0f && prob[i] <= 1.0f;
    }
    double accuracy = (double)correct / NUM_TEST;
    printf("held-out accuracy %.3f\n", accuracy);
    CHECK(accuracy > 0.9, "held-out accuracy %.3f", accuracy);
    CHECK(in_range, "probabilities outside [0, 1]");

    /* Margins: the probabilities are their sigmoid. The first 10 rounds alone differ. */
    static float margin[NUM_TEST];
    static float first10[NUM_TEST];
    SylvanPredictOptions opts = {SYLVAN_PREDICT_MARGIN, 0, 0};
    REQUIRE_OK(predict_all(booster, test, &opts, margin, NUM_TEST));
    double worst = 0.0;
    for (int i = 0; i < NUM_TEST; i++) {
        double d = fabs(prob[i] - 1.0 / (1.0 + exp(-margin[i])));
        worst = d > worst ? d : worst;
    }
    CHECK(worst < 1e-5, "sigmoid(margin) differs from the probability by %g", worst);
    opts.iteration_begin = 0;
    opts.iteration_end = 10;
    REQUIRE_OK(predict_all(booster, test, &opts, first10, NUM_TEST));
    CHECK(memcmp(first10, margin, sizeof margin) != 0, "an iteration range changes nothing");

    /* A buffer that is too small: the needed length is reported and nothing is written. */
    static float small[NUM_TEST];
    for (int i = 0; i < NUM_TEST; i++) {
        small[i] = -7.0f;
    }
    needed = 0;
    int rc = sylvan_booster_predict(booster, test, NULL, small, NUM_TEST - 1, &needed);
    CHECK(rc == SYLVAN_ERR_BUFFER_TOO_SMALL, "too-small buffer gave %d", rc);
    CHECK(needed == NUM_TEST, "needed %zu", needed);
    CHECK(small[0] == -7.0f, "a too-small buffer was written to");
    CHECK(strstr(sylvan_last_error(), "needed") != NULL, "message does not say what is needed");

    /* Save as JSON and binary, load each, predict again: identical predictions. */
    const char *names[2] = {"model.json", "model.sylvan"};
    for (int k = 0; k < 2; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        REQUIRE_OK(sylvan_booster_save(booster, path));
        SylvanBooster *loaded = NULL;
        REQUIRE_OK(sylvan_booster_load(path, &loaded));
        static float again[NUM_TEST];
        REQUIRE_OK(predict_all(loaded, test, NULL, again, NUM_TEST));
        CHECK(memcmp(again, prob, sizeof prob) == 0, "predictions of the loaded %s differ", names[k]);
        REQUIRE_OK(sylvan_booster_free(loaded));
    }

    /* Error paths. An unknown parameter: a non-zero status and a message that names it. */
    SylvanBooster *bad = NULL;
    rc = sylvan_booster_train(train, "{\"objective\":\"binary:logistic\",\"max_dpeth\":3}", NULL, NULL, 0, &bad);
    CHECK(rc == SYLVAN_ERR_INVALID_PARAMETER, "unknown parameter gave %d", rc);
    CHECK(strstr(sylvan_last_error(), "max_dpeth") != NULL, "message does not name the parameter");
    CHECK(bad == NULL, "a booster was returned on error");

    /* Malformed JSON. */
    rc = sylvan_booster_train(train, "{\"objective\":", NULL, NULL, 0, &bad);
    CHECK(rc == SYLVAN_ERR_INVALID_PARAMETER, "bad JSON gave %d", rc);

    /* A file that is not a model. */
    char bad_path[4096];
    snprintf(bad_path, sizeof bad_path, "%s/not-a-model.json", dir);
    FILE *f = fopen(bad_path, "w");
    CHECK(f != NULL, "cannot write %s", bad_path);
    if (f != NULL) {
        fputs("{\"trees\": 3}", f);
        fclose(f);
        rc = sylvan_booster_load(bad_path, &bad);
        CHECK(rc == SYLVAN_ERR_INVALID_MODEL, "bad model file gave %d", rc);
        CHECK(strstr(sylvan_last_error(), "not-a-model.json") != NULL, "message does not name the file");
    }

    /* Null pointers. */
    rc = sylvan_booster_predict(NULL, test, NULL, prob, NUM_TEST, NULL);
    CHECK(rc == SYLVAN_ERR_NULL_POINTER, "null booster gave %d", rc);
    CHECK(strstr(sylvan_last_error(), "booster") != NULL, "message does not name the argument");
    SylvanDataset *none = train; /* any non-NULL value: the call must reset it */
    rc = sylvan_dataset_create(NULL, 10, 2, SYLVAN_ROW_MAJOR, NULL, NULL, &none);
    CHECK(rc == SYLVAN_ERR_NULL_POINTER, "null data gave %d", rc);
    CHECK(none == NULL, "out is not reset to NULL on error");

    /* A successful call clears the message. */
    REQUIRE_OK(sylvan_dataset_num_rows(test, &rows));
    CHECK(strcmp(sylvan_last_error(), "") == 0, "message not cleared after success");

    CHECK(sylvan_booster_free(booster) == SYLVAN_OK, "booster_free");
    CHECK(sylvan_dataset_free(train) == SYLVAN_OK, "dataset_free");
    CHECK(sylvan_dataset_free(test) == SYLVAN_OK, "dataset_free");
    CHECK(sylvan_dataset_free(NULL) == SYLVAN_OK, "dataset_free(NULL)");
    return finish();
}
