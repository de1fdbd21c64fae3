// Gradient pairs of the built-in objectives, written as interleaved (grad, hess) f32 pairs, row-major
// (row i, output c at 2 * (i * k + c)). Every formula is the host's (booster/src/objective.rs), in
// f64, times the row weight, rounded to f32 once at the end, so the pairs match the host's.

extern "C" __global__ void grad_squared(const double* __restrict__ margins, const float* __restrict__ labels,
                                        const float* __restrict__ weights, u32 n, float* __restrict__ gpair) {
    GRID_STRIDE(i, n) {
        const double w = (double)weights[i];
        const double g = margins[i] - (double)labels[i];
        gpair[2 * i] = (float)(g * w);
        gpair[2 * i + 1] = (float)(1.0 * w);
    }
}

extern "C" __global__ void grad_logistic(const double* __restrict__ margins, const float* __restrict__ labels,
                                         const float* __restrict__ weights, double scale_pos_weight, u32 n,
                                         float* __restrict__ gpair) {
    GRID_STRIDE(i, n) {
        const double w = (double)weights[i];
        const float y = labels[i];
        const double p = 1.0 / (1.0 + exp(-margins[i]));
        const double s = (y == 1.0f) ? scale_pos_weight : 1.0;
        const double g = (p - (double)y) * s;
        const double h = fmax(p * (1.0 - p), 1e-16) * s;
        gpair[2 * i] = (float)(g * w);
        gpair[2 * i + 1] = (float)(h * w);
    }
}

extern "C" __global__ void grad_softmax(const double* __restrict__ margins, const float* __restrict__ labels,
                                        const float* __restrict__ weights, u32 n, u32 k,
                                        float* __restrict__ gpair) {
    GRID_STRIDE(i, n) {
        const double* m = margins + i * k;
        double mx = __longlong_as_double(0xfff0000000000000ULL);  // -infinity
        for (u32 c = 0; c < k; ++c) mx = fmax(mx, m[c]);
        double sum = 0.0;
        for (u32 c = 0; c < k; ++c) sum += exp(m[c] - mx);
        const double w = (double)weights[i];
        const u32 y = (u32)labels[i];
        for (u32 c = 0; c < k; ++c) {
            const double p = exp(m[c] - mx) / sum;
            const double t = (c == y) ? 1.0 : 0.0;
            const double g = (p - t) * w;
            const double h = fmax(2.0 * p * (1.0 - p), 1e-16) * w;
            gpair[2 * (i * k + c)] = (float)g;
            gpair[2 * (i * k + c) + 1] = (float)h;
        }
    }
}
