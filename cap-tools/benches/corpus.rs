//! Reads, verifies and re-writes every CAP of the shared corpus and both
//! converter-reference kits; throughput is in bytes of CAP JAR input.
//!
//! Run: cargo bench -p cap-tools --bench corpus

use std::path::PathBuf;

use cap_tools::cap::load_file::LoadFile;
use cap_tools::Cap;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn corpus() -> Vec<Vec<u8>> {
    let shared = std::env::var("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let mut files = Vec::new();
    for dir in [
        "cap-corpus",
        "converter-reference/oracle-3.0.5",
        "converter-reference/oracle-3.2.0",
    ] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(shared.join(dir))
            .expect("shared data beside the project")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "cap"))
            .collect();
        paths.sort();
        files.extend(
            paths
                .into_iter()
                .map(|p| std::fs::read(p).expect("read CAP")),
        );
    }
    files
}

fn bench(c: &mut Criterion) {
    let files = corpus();
    let total: usize = files.iter().map(Vec::len).sum();
    let load_files: Vec<Vec<u8>> = files
        .iter()
        .map(|f| {
            LoadFile::build(&Cap::from_bytes(f).unwrap(), true)
                .unwrap()
                .bytes
        })
        .collect();
    let lf_total: usize = load_files.iter().map(Vec::len).sum();

    let mut g = c.benchmark_group("corpus");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("read+verify+write (JAR)", |b| {
        b.iter(|| {
            for f in &files {
                let cap = Cap::from_bytes(f).unwrap();
                assert!(cap_tools::verify::verify(&cap).is_empty());
                std::hint::black_box(cap.to_jar().unwrap());
                std::hint::black_box(LoadFile::build(&cap, false).unwrap());
            }
        })
    });
    g.throughput(Throughput::Bytes(lf_total as u64));
    g.bench_function("read+verify+write (load file)", |b| {
        b.iter(|| {
            for f in &load_files {
                let cap = Cap::from_load_file(f).unwrap();
                assert!(cap_tools::verify::verify(&cap).is_empty());
                std::hint::black_box(LoadFile::build(&cap, true).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
