//! Idmapped bind mounts in a container with its own user namespace: the
//! host side makes the trees (the init there lacks the privilege), the
//! init attaches them.

use std::os::unix::fs::MetadataExt;

use serde_json::json;

use crate::common::Ctx;

#[test]
fn idmapped_binds_in_a_user_namespace_map_owners_both_ways() {
    let ctx = Ctx::new("idmapns");
    let host = ctx.dir.join("shared");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "x").unwrap();
    std::os::unix::fs::chown(host.join("f"), Some(1234), Some(2345)).unwrap();
    let mut c = ctx.config(
        "stat -c %u:%g /mnt/idm/f /mnt/one/f /mnt/own/f /mnt/plain/f /mnt/file; \
         touch /mnt/idm/made && echo made; touch /mnt/plain/made2 2>/dev/null || echo denied",
    );
    Ctx::with_userns(&mut c);
    let range = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    let m = c["mounts"].as_array_mut().unwrap();
    // Mount points made in a tmpfs the container's root owns.
    m.push(json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs"}));
    // The container's own range: host files look as they do on the host.
    m.push(
        json!({"destination": "/mnt/idm", "type": "bind", "source": host, "options": ["rbind"],
        "uidMappings": range, "gidMappings": range}),
    );
    // One id each: on-disk 1234 is host 100005 (container 5), gid 2345 is
    // host 100007 (container 7).
    m.push(json!({"destination": "/mnt/one", "type": "bind", "source": host, "options": ["bind", "idmap"],
        "uidMappings": [{"containerID": 1234, "hostID": 100005, "size": 1}],
        "gidMappings": [{"containerID": 2345, "hostID": 100007, "size": 1}]}));
    // No mappings: the container's user namespace is the mount's.
    m.push(json!({"destination": "/mnt/own", "type": "bind", "source": host, "options": ["rbind", "ridmap"]}));
    // A single file, idmapped like the first.
    m.push(json!({"destination": "/mnt/file", "type": "bind", "source": host.join("f"), "options": ["bind"],
        "uidMappings": range, "gidMappings": range}));
    m.push(
        json!({"destination": "/mnt/plain", "type": "bind", "source": host, "options": ["rbind"]}),
    );
    let out = ctx.run_config(&c).ok().stdout;
    assert_eq!(
        out, "1234:2345\n5:7\n1234:2345\n65534:65534\n1234:2345\nmade\ndenied\n",
        "owners through the idmapped, own-namespace and plain binds"
    );
    // Made by the container's root (host 100000) through the idmapped
    // mount: on disk it is 0.
    let made = std::fs::metadata(host.join("made")).unwrap();
    assert_eq!((made.uid(), made.gid()), (0, 0));
    assert!(!host.join("made2").exists());
}
