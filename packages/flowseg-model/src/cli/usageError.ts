import { FlowSegError } from '@flowseg/core';

/** The command line itself is wrong (unknown command or option, missing or bad value): exit code 2. */
export class UsageError extends FlowSegError {}
