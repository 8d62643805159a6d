// Obviously fake permanent keys shared by every suite, so the leak watch knows what to look for.
export const TEST_SECRET_ID = 'AKIDexpressCosStsTest0000000000000000'
export const TEST_SECRET_KEY = 'fakePermanentKeyForTests0123456789abcd'
export const TEST_BUCKET = 'examplebucket-1250000000'
export const TEST_REGION = 'ap-guangzhou'
