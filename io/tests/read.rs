//! Reading every supported format and type, and choosing columns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Decimal128Array, DictionaryArray, Float16Array, Float64Array, Int64Array, RecordBatch,
    StringArray, UInt8Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use sylvan_io::{
    load_for_model, load_training, read_table, CategoryMap, ColumnKind, ColumnSelection, Error, ReadOptions,
};

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sylvan-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes batches to a Parquet file with at most `rows_per_group` rows per row group.
fn write_parquet(path: &Path, batches: &[RecordBatch], rows_per_group: usize) {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).unwrap();
    for b in batches {
        w.write(b).unwrap();
        w.flush().unwrap();
    }
    w.close().unwrap();
}

fn label(name: &str) -> ColumnSelection {
    ColumnSelection {
        label: Some(name.into()),
        ..Default::default()
    }
}

fn mixed_batch(dict_values: &[&str], keys: &[Option<i32>], y: &[f64]) -> RecordBatch {
    let n = keys.len();
    let dict = DictionaryArray::<Int32Type>::try_new(
        keys.iter().copied().collect(),
        Arc::new(StringArray::from(dict_values.to_vec())),
    )
    .unwrap();
    let f16 = Float16Array::from(
        (0..n)
            .map(|i| Some(half::f16::from_f32(i as f32 * 0.5)))
            .collect::<Vec<_>>(),
    );
    let dec = Decimal128Array::from(
        (0..n)
            .map(|i| if i == 1 { None } else { Some(i as i128 * 125) })
            .collect::<Vec<_>>(),
    )
    .with_precision_and_scale(10, 2)
    .unwrap();
    let flag = BooleanArray::from(
        (0..n)
            .map(|i| if i == 2 { None } else { Some(i % 2 == 0) })
            .collect::<Vec<_>>(),
    );
    let small = UInt8Array::from((0..n).map(|i| i as u8).collect::<Vec<_>>());
    let plain = StringArray::from(
        (0..n)
            .map(|i| if i == 0 { None } else { Some(["x", "y"][i % 2]) })
            .collect::<Vec<_>>(),
    );
    let schema = Schema::new(vec![
        Field::new(
            "city",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ),
        Field::new("half", DataType::Float16, true),
        Field::new("price", DataType::Decimal128(10, 2), true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("small", DataType::UInt8, false),
        Field::new("letter", DataType::Utf8, true),
        Field::new("y", DataType::Float64, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(dict),
        Arc::new(f16),
        Arc::new(dec),
        Arc::new(flag),
        Arc::new(small),
        Arc::new(plain),
        Arc::new(Float64Array::from(y.to_vec())),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

#[test]
fn parquet_types_nulls_and_dictionaries_across_row_groups() {
    let dir = temp_dir("pq-types");
    let path = dir.join("t.parquet");
    // Two row groups whose dictionaries number the same strings differently.
    let b1 = mixed_batch(
        &["paris", "oslo"],
        &[Some(0), Some(1), None, Some(0)],
        &[1.0, 0.0, 1.0, 0.0],
    );
    let b2 = mixed_batch(
        &["rome", "paris", "oslo", "unused"],
        &[Some(2), Some(0), Some(1), Some(1)],
        &[1.0, 1.0, 0.0, 0.0],
    );
    write_parquet(&path, &[b1, b2], 4);

    let loaded = load_training(&path, &label("y")).unwrap();
    let d = &loaded.dataset;
    let names = d.feature_names().unwrap();
    assert_eq!(names, &["city", "half", "price", "flag", "small", "letter"]);
    assert_eq!(loaded.categories.get("city").unwrap(), &["oslo", "paris", "rome"]);
    let city = d.column(0).as_dense().unwrap();
    assert_eq!(city[0], 1.0); // paris
    assert_eq!(city[1], 0.0); // oslo
    assert!(city[2].is_nan());
    assert_eq!(&city[4..], &[0.0, 2.0, 1.0, 1.0]); // oslo, rome, paris, paris
    assert_eq!(&d.column(1).as_dense().unwrap()[..3], &[0.0, 0.5, 1.0]);
    assert_eq!(d.column(2).as_dense().unwrap()[0], 0.0);
    assert!(d.column(2).as_dense().unwrap()[1].is_nan());
    assert_eq!(d.column(2).as_dense().unwrap()[3], 3.75);
    assert_eq!(d.column(3).as_dense().unwrap()[0], 1.0);
    assert_eq!(d.column(3).as_dense().unwrap()[1], 0.0);
    assert!(d.column(3).as_dense().unwrap()[2].is_nan());
    assert_eq!(d.column(4).as_dense().unwrap()[3], 3.0);
    assert!(d.column(5).as_dense().unwrap()[0].is_nan());
    assert_eq!(loaded.categories.get("letter").unwrap(), &["x", "y"]);
    assert_eq!(d.labels(), &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0]);

    // Prediction side: fixed codes, unseen category missing, columns matched by name.
    let mut cats = CategoryMap::new();
    cats.insert("city", vec!["oslo".into(), "paris".into()]);
    cats.insert("letter", vec!["x".into(), "y".into()]);
    let features = vec!["small".to_string(), "city".to_string()];
    let pred = load_for_model(&path, &features, &cats, &ColumnSelection::default()).unwrap();
    assert_eq!(pred.dataset.feature_names().unwrap(), features.as_slice());
    let city = pred.dataset.column(1).as_dense().unwrap();
    assert_eq!(city[4], 0.0); // oslo
    assert!(city[5].is_nan(), "rome was not seen in training");
    assert_eq!(city[6], 1.0); // paris
    assert!(!pred.dataset.has_labels());
}

#[test]
fn arrow_ipc_file_is_read() {
    let dir = temp_dir("ipc");
    let path = dir.join("t.arrow");
    let batch = mixed_batch(&["a", "b"], &[Some(1), Some(0), Some(1)], &[0.0, 1.0, 0.0]);
    let file = std::fs::File::create(&path).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    w.write(&batch).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    let loaded = load_training(
        &path,
        &ColumnSelection {
            drop: vec!["letter".into()],
            ..label("y")
        },
    )
    .unwrap();
    assert_eq!(loaded.dataset.num_rows(), 6);
    assert_eq!(loaded.dataset.num_features(), 5);
    assert_eq!(&loaded.dataset.column(0).as_dense().unwrap()[..3], &[1.0, 0.0, 1.0]);
}

#[test]
fn an_arrow_ipc_file_declaring_a_batch_past_its_end_is_refused_before_allocating_it() {
    let dir = temp_dir("ipc-huge");
    let path = dir.join("t.arrow");
    let batch = mixed_batch(&["a", "b"], &[Some(1), Some(0), Some(1)], &[0.0, 1.0, 0.0]);
    let mut w = arrow_ipc::writer::FileWriter::try_new(std::fs::File::create(&path).unwrap(), &batch.schema()).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    // The footer (before its i32 length and the magic) lists the batch's block: offset (i64),
    // metadata length (i32, padded) and body length (i64). Declare an 8 GB body.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    let footer_len = i32::from_le_bytes(bytes[n - 10..n - 6].try_into().unwrap()) as usize;
    let footer_start = n - 10 - footer_len;
    let footer = arrow_ipc::root_as_footer(&bytes[footer_start..n - 10]).unwrap();
    let body = footer.recordBatches().unwrap().get(0).bodyLength();
    let needle = body.to_le_bytes();
    let at = footer_start
        + bytes[footer_start..n - 10]
            .windows(8)
            .position(|w| w == needle)
            .expect("the body length is in the footer");
    bytes[at..at + 8].copy_from_slice(&8_000_000_000i64.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = load_training(&path, &label("y")).unwrap_err().to_string();
    assert!(err.contains("t.arrow") && err.contains("record batch 0"), "{err}");
    assert!(
        err.contains("8000000000") && err.contains("past the end of the file"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn csv_types_and_missing_tokens() {
    let dir = temp_dir("csv");
    let path = dir.join("t.csv");
    std::fs::write(
        &path,
        "a,b,c,d,y\n1,true,red,,0\nNA,False,blue,,1\n2.5,,NaN,,1\nnan,TRUE,red,,0\n",
    )
    .unwrap();
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    assert_eq!(
        t.kinds,
        vec![
            ColumnKind::Numeric,
            ColumnKind::Boolean,
            ColumnKind::Categorical,
            ColumnKind::Numeric,
            ColumnKind::Numeric
        ]
    );
    let loaded = load_training(&path, &label("y")).unwrap();
    let d = &loaded.dataset;
    assert_eq!(d.column(0).as_dense().unwrap()[0], 1.0);
    assert!(d.column(0).as_dense().unwrap()[1].is_nan() && d.column(0).as_dense().unwrap()[3].is_nan());
    assert_eq!(d.column(1).as_dense().unwrap()[1], 0.0);
    assert!(d.column(1).as_dense().unwrap()[2].is_nan());
    assert_eq!(d.column(2).as_dense().unwrap()[0], 1.0);
    assert!(d.column(2).as_dense().unwrap()[2].is_nan());
    assert!(d.column(3).as_dense().unwrap().iter().all(|v| v.is_nan()));

    // A column the model knows as categorical is read as strings even when it looks numeric.
    let codes = dir.join("codes.csv");
    std::fs::write(&codes, "zip,x\n123,1\n456,2\n").unwrap();
    let mut cats = CategoryMap::new();
    cats.insert("zip", vec!["456".into()]);
    let p = load_for_model(&codes, &["zip".into(), "x".into()], &cats, &ColumnSelection::default()).unwrap();
    assert!(p.dataset.column(0).as_dense().unwrap()[0].is_nan());
    assert_eq!(p.dataset.column(0).as_dense().unwrap()[1], 0.0);
}

#[test]
fn libsvm_with_qid_and_sparse_matching() {
    let dir = temp_dir("svm");
    let path = dir.join("t.svm");
    std::fs::write(
        &path,
        "# comment\n1 qid:3 1:0.5 3:2\n0 qid:3 2:1.5 # trailing\n\n1 qid:4 1:-1\n",
    )
    .unwrap();
    let sel = ColumnSelection {
        group: Some("qid".into()),
        ..label("label")
    };
    let loaded = load_training(&path, &sel).unwrap();
    let d = &loaded.dataset;
    assert_eq!(d.feature_names().unwrap(), &["f0", "f1", "f2", "f3"]);
    assert_eq!(d.labels(), &[1.0, 0.0, 1.0]);
    assert_eq!(loaded.groups.as_deref(), Some(&[3.0, 3.0, 4.0][..]));
    // LibSVM features stay sparse: only the present values are stored.
    assert_eq!(d.num_present(), 4);
    assert!(d.column(1).as_dense().is_none());
    assert!((0..3).all(|r| d.column(0).get(r).is_nan()));
    assert_eq!(d.column(1).get(0), 0.5);
    assert!(d.column(1).get(1).is_nan());
    assert_eq!(d.column(3).get(0), 2.0);
    // A model with more features than the file: the absent ones are all missing.
    let features: Vec<String> = (0..6).map(|i| format!("f{i}")).collect();
    let p = load_for_model(&path, &features, &CategoryMap::new(), &ColumnSelection::default()).unwrap();
    assert_eq!(p.dataset.num_features(), 6);
    assert!((0..3).all(|r| p.dataset.column(5).get(r).is_nan()));

    let bad = dir.join("bad.svm");
    std::fs::write(&bad, "1 1:2\n0 x:1\n").unwrap();
    let e = load_training(&bad, &label("label")).unwrap_err().to_string();
    assert!(e.contains("line 2") && e.contains("x"), "{e}");
    std::fs::write(&bad, "1 1:2 1:3\n").unwrap();
    let e = load_training(&bad, &label("label")).unwrap_err().to_string();
    assert!(e.contains("twice"), "{e}");
}

#[test]
fn errors_name_the_file_and_column() {
    let dir = temp_dir("errors");
    let csv = dir.join("t.csv");
    std::fs::write(&csv, "a,s,y,w\n1,u,1,1\n2,v,,1\n").unwrap();
    let msg = |r: Result<_, Error>| r.map(|_: sylvan_io::LoadedData| ()).unwrap_err().to_string();
    let e = msg(load_training(&csv, &label("nope")));
    assert!(
        e.contains("label column `nope`") && e.contains("t.csv") && e.contains("a, s, y, w"),
        "{e}"
    );
    let e = msg(load_training(&csv, &label("s")));
    assert!(e.contains("`s`") && e.contains("strings"), "{e}");
    let e = msg(load_training(&csv, &label("y")));
    assert!(e.contains("row 1") && e.contains("missing"), "{e}");
    let e = msg(load_training(
        &csv,
        &ColumnSelection {
            drop: vec!["zz".into()],
            ..label("a")
        },
    ));
    assert!(e.contains("zz"), "{e}");
    let e = msg(load_training(
        &csv,
        &ColumnSelection {
            features: Some(vec!["a".into(), "q".into()]),
            ..label("w")
        },
    ));
    assert!(e.contains("feature column `q`"), "{e}");
    let e = msg(load_for_model(
        &csv,
        &["a".into(), "b".into()],
        &CategoryMap::new(),
        &ColumnSelection::default(),
    ));
    assert!(e.contains("`b`"), "{e}");

    let nan_label = dir.join("nan.csv");
    std::fs::write(&nan_label, "a,y\n1,NA\n2,\n").unwrap();
    let e = msg(load_training(&nan_label, &label("y")));
    assert!(e.contains("every row is missing"), "{e}");

    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "a,y\n").unwrap();
    assert!(matches!(load_training(&empty, &label("y")), Err(Error::Empty { .. })));
    std::fs::write(&empty, "").unwrap();
    assert!(load_training(&empty, &label("y")).is_err());

    let inf = dir.join("inf.csv");
    std::fs::write(&inf, "a,y\n1,1\ninf,0\n").unwrap();
    let e = msg(load_training(&inf, &label("y")));
    assert!(e.contains("row 1") && e.contains("`a`"), "{e}");

    let garbage = dir.join("g.parquet");
    std::fs::write(&garbage, b"this is not parquet").unwrap();
    let e = msg(load_training(&garbage, &label("y")));
    assert!(e.contains("g.parquet"), "{e}");
    let e = msg(load_training(&dir.join("absent.parquet"), &label("y")));
    assert!(e.contains("absent.parquet"), "{e}");
    let e = msg(load_training(&dir.join("x.xlsx"), &label("y")));
    assert!(e.contains("xlsx"), "{e}");

    // Strings where the model had numbers.
    let e = msg(load_for_model(
        &csv,
        &["s".into()],
        &CategoryMap::new(),
        &ColumnSelection::default(),
    ));
    assert!(e.contains("trained on numbers"), "{e}");
    // Empty Parquet file.
    let pq = dir.join("empty.parquet");
    let schema = Arc::new(Schema::new(vec![Field::new("y", DataType::Int64, false)]));
    let b = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(Vec::<i64>::new()))]).unwrap();
    write_parquet(&pq, &[b], 10);
    assert!(matches!(load_training(&pq, &label("y")), Err(Error::Empty { .. })));
}

#[test]
fn prediction_tables_are_written() {
    let dir = temp_dir("write");
    let values = [0.25f32, 0.75, 0.5, 0.5];
    let table = sylvan_io::OutputTable {
        names: vec!["class_0".into(), "class_1".into()],
        values: &values,
        integer: false,
    };
    sylvan_io::write_table(&dir.join("p.csv"), &table).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("p.csv")).unwrap(),
        "class_0,class_1\n0.25,0.75\n0.5,0.5\n"
    );
    sylvan_io::write_table(&dir.join("p.parquet"), &table).unwrap();
    let back = read_table(&dir.join("p.parquet"), &ReadOptions::default()).unwrap();
    assert_eq!(back.names, vec!["class_0", "class_1"]);
    assert_eq!(back.columns[1], sylvan_booster::Column::Dense(vec![0.75, 0.5]));
    sylvan_io::write_table(&dir.join("p.arrow"), &table).unwrap();
    let back = read_table(&dir.join("p.arrow"), &ReadOptions::default()).unwrap();
    assert_eq!(back.columns[0], sylvan_booster::Column::Dense(vec![0.25, 0.5]));
    assert!(sylvan_io::write_table(&dir.join("p.txt"), &table).is_err());
}

#[test]
fn dictionary_and_string_columns_are_categorical_features() {
    let dir = temp_dir("pq-dict-ints");
    let path = dir.join("t.parquet");
    // An integer dictionary (as pandas writes a category column of numbers): categories named by
    // their text, sorted as text.
    let keys = arrow_array::Int32Array::from(vec![Some(0), Some(1), None, Some(2), Some(0)]);
    let values: ArrayRef = Arc::new(Int64Array::from(vec![20, 7, 100]));
    let coded: ArrayRef = Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).unwrap());
    let city: ArrayRef = Arc::new(StringArray::from(vec![
        Some("b"),
        Some("a"),
        Some("b"),
        None,
        Some("c"),
    ]));
    let plain: ArrayRef = Arc::new(Int64Array::from(vec![3, 1, 4, 1, 5]));
    let y: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 0.0, 1.0, 0.0, 1.0]));
    let schema = Schema::new(vec![
        Field::new("store", coded.data_type().clone(), true),
        Field::new("city", DataType::Utf8, true),
        Field::new("segment", DataType::Int64, false),
        Field::new("y", DataType::Float64, false),
    ]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![coded, city, plain, y]).unwrap();
    write_parquet(&path, &[batch], 10);
    let loaded = load_training(&path, &label("y")).unwrap();
    assert_eq!(loaded.categories.get("store").unwrap(), &["100", "20", "7"]);
    let d = &loaded.dataset;
    let store = d.column(0).as_dense().unwrap();
    assert_eq!((store[0], store[1], store[3], store[4]), (1.0, 2.0, 0.0, 1.0));
    assert!(store[2].is_nan());
    let types: Vec<bool> = d.feature_types().iter().map(|t| t.is_categorical()).collect();
    assert_eq!(
        types,
        vec![true, true, false],
        "segment stays numerical unless declared"
    );
    // Declared categorical: an integer column of codes.
    let sel = ColumnSelection {
        categorical: vec!["segment".into()],
        ..label("y")
    };
    let d = load_training(&path, &sel).unwrap().dataset;
    assert!(d.feature_type(2).is_categorical());
}

#[test]
fn parquet_row_group_ranges_read_only_those_rows() {
    let dir = temp_dir("pq-row-groups");
    let path = dir.join("t.parquet");
    let b1 = mixed_batch(
        &["paris", "oslo"],
        &[Some(0), Some(1), None, Some(0)],
        &[1.0, 0.0, 1.0, 0.0],
    );
    let b2 = mixed_batch(
        &["rome", "paris"],
        &[Some(0), Some(1), Some(1), None],
        &[2.0, 3.0, 4.0, 5.0],
    );
    write_parquet(&path, &[b1, b2], 4);
    assert_eq!(sylvan_io::parquet_reader::row_group_rows(&path).unwrap(), vec![4, 4]);

    let second = ColumnSelection {
        row_groups: Some(1..2),
        ..label("y")
    };
    let loaded = load_training(&path, &second).unwrap();
    assert_eq!(loaded.dataset.labels(), &[2.0, 3.0, 4.0, 5.0]);
    // Categories are learned on the rows read: this range never sees oslo.
    assert_eq!(loaded.categories.get("city").unwrap(), &["paris", "rome"]);
    let all = ColumnSelection {
        row_groups: Some(0..2),
        ..label("y")
    };
    assert_eq!(load_training(&path, &all).unwrap().dataset.num_rows(), 8);

    let beyond = ColumnSelection {
        row_groups: Some(1..3),
        ..label("y")
    };
    let e = load_training(&path, &beyond).unwrap_err().to_string();
    assert!(e.contains("t.parquet") && e.contains("2 row groups"), "{e}");
    let csv = dir.join("t.csv");
    std::fs::write(&csv, "x,y\n1,0\n").unwrap();
    let e = load_training(&csv, &second).unwrap_err().to_string();
    assert!(e.contains("only be read from a Parquet file"), "{e}");
}

/// Found by the `csv` fuzz target: with two columns of one name the second's categories replaced
/// the first's, so its codes pointed past its category list. Such a file is refused, by name.
#[test]
fn duplicate_column_names_are_refused() {
    let dir = temp_dir("duplicates");
    let csv = dir.join("dup.csv");
    std::fs::write(&csv, "x1,x1,y\n1,a,0\n2,b,1\n").unwrap();
    let e = read_table(&csv, &ReadOptions::default()).unwrap_err().to_string();
    assert!(
        e.contains("dup.csv") && e.contains("`x1`") && e.contains("more than once"),
        "{e}"
    );
    let e = load_training(&csv, &label("y")).unwrap_err().to_string();
    assert!(e.contains("more than once"), "{e}");
    let ok = ReadOptions {
        exclude: vec!["x1".into()],
        ..Default::default()
    };
    assert_eq!(read_table(&csv, &ok).unwrap().names, ["y"]);
}
