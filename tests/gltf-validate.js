// tests/gltf-validate.js FILE...: the Khronos glTF validator on each file.
// Prints every error and warning as "FILE: CODE at POINTER: message" and
// exits 1 when there is any (infos and hints, such as an unused
// TEXCOORD_0, are not problems). Used by tests/check-files.py.
'use strict';
const fs = require('fs');
const path = require('path');
const validator = require(path.join(__dirname, '..', 'build', 'npm',
                                    'node_modules', 'gltf-validator'));

async function main(files) {
    let bad = 0;
    for (const f of files) {
        const r = await validator.validateBytes(
            new Uint8Array(fs.readFileSync(f)), { uri: f, maxIssues: 100 });
        for (const m of r.issues.messages) {
            if (m.severity > 1)
                continue;	// 0 error, 1 warning, 2 info, 3 hint
            console.log('%s: %s at %s: %s', f, m.code, m.pointer || '/',
                        m.message);
            bad++;
        }
    }
    return bad ? 1 : 0;
}

main(process.argv.slice(2)).then((rc) => process.exit(rc), (e) => {
    console.log('gltf-validate: %s', e.message || e);
    process.exit(2);
});
