// Loaded into every test file's process (npm test's unit job, scripts/test/smoke.sh): console.log and
// console.info write to stderr. node --test reads a file's results as serialized frames on its stdout, and
// lines printed there in between (an exercise check's verdict, say) can corrupt a frame: "Unable to
// deserialize cloned data due to invalid or unsupported version" (nodejs/node#48103, #64061), a flake.
// On stderr they still reach the log.
console.log = console.error;
console.info = console.error;
