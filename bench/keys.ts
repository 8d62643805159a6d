// Obviously fake permanent keys for the benchmark's local STS; never a real key.
export const BENCH_SECRET_ID = 'AKIDbenchmarkOnlyNotARealKey000000000'
export const BENCH_SECRET_KEY = 'benchmarkOnlyNotARealSecretKey0000000'
export const BENCH_BUCKET = 'examplebucket-1250000000'
export const BENCH_REGION = 'ap-guangzhou'
