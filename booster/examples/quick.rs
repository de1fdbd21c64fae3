use std::time::Instant;
use sylvan_booster::*;
fn main() -> Result<()> {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(200_000);
    let nf = 28;
    let mut s: u64 = 12345;
    let mut rnd = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut cols = vec![vec![0f32; n]; nf];
    let mut y = vec![0f32; n];
    for i in 0..n {
        for col in cols.iter_mut() {
            col[i] = (rnd() * 2.0 - 1.0) as f32;
        }
        let z =
            cols[0][i] as f64 * 2.0 + (cols[1][i] * cols[2][i]) as f64 * 3.0 + (cols[3][i] as f64 * 3.0).sin() + rnd()
                - 0.5;
        y[i] = (z > 0.0) as u8 as f32;
    }
    let d = Dataset::from_columns(cols)?.with_labels(y)?;
    let p = Params::default()
        .objective(ObjectiveKind::BinaryLogistic)
        .num_round(100)
        .eta(0.1)
        .max_depth(8)
        .max_bin(255)
        .nthread(2)
        .validated()?;
    let t = Instant::now();
    let m = sylvan_booster::backend::BinMapper::fit(&d, 255);
    println!("binning {:.2}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let _q = sylvan_booster::backend::QuantizedMatrix::build(&d, &m);
    println!("quantize {:.2}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let b = Booster::train(&p, &d, &[])?;
    let el = t.elapsed().as_secs_f64();
    let auc = b.evaluate(&d, &["auc".parse()?])?;
    println!("n={n} train {el:.2}s auc {:?}", auc);
    Ok(())
}
