"""The synthetic dataset's figure model: a random articulated 3-D person, its projection and its COCO labels.

A figure is a dict (see :func:`sample_figure`) with the 17 COCO keypoints in 3-D and in the image, the limb and
head geometry the renderer draws, and colours. :func:`keypoint_labels` turns a drawn figure into COCO's
``[x, y, v]`` triplets from the owner buffer the renderer paints (which part of which person is on top per pixel).
Used by :mod:`posekit.datasets.synthetic_render`; the dataset API is :mod:`posekit.datasets.synthetic`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["sample_figure", "keypoint_labels"]

# part ids (per figure); the owner buffer stores person * NPART + part, occluders OCCLUDER
(TORSO, NECK, HEAD, L_UARM, L_FARM, L_HAND, R_UARM, R_FARM, R_HAND,
 L_THIGH, L_SHIN, L_FOOT, R_THIGH, R_SHIN, R_FOOT, L_EAR, R_EAR) = range(17)  # fmt: skip
NPART = 32
OCCLUDER = 30000
# parts a keypoint lies on: the keypoint is visible when one of them is the top-most layer at (or next to) it
_KPT_PARTS = [
    {HEAD}, {HEAD}, {HEAD}, {HEAD, L_EAR}, {HEAD, R_EAR},
    {TORSO, NECK, L_UARM}, {TORSO, NECK, R_UARM}, {L_UARM, L_FARM}, {R_UARM, R_FARM},
    {L_FARM, L_HAND}, {R_FARM, R_HAND}, {TORSO, L_THIGH}, {TORSO, R_THIGH},
    {L_THIGH, L_SHIN}, {R_THIGH, R_SHIN}, {L_SHIN, L_FOOT}, {R_SHIN, R_FOOT},
]  # fmt: skip
# skin tones, RGB -> BGR
_SKIN = np.array([[224, 190, 160], [200, 160, 130], [170, 120, 90], [120, 80, 60], [90, 60, 45], [235, 205, 185]])[
    :, ::-1
]


# ----------------------------------------------------------------------------------------------------------------------
# the figure: a 3-D skeleton (l = the figure's left, v = up, f = forward; unit = body height)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else v


def _perp(d: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The part of ``q`` perpendicular to unit ``d`` (unit length)."""
    p = q - float(q @ d) * d
    if np.linalg.norm(p) < 1e-6:
        p = np.cross(d, np.array([1.0, 0.0, 0.0]))
    return _unit(p)


def _limb_dir(side: float, abduction: float, flexion: float) -> np.ndarray:
    """Direction of a limb hanging down, swung outwards by ``abduction`` and forwards by ``flexion`` (radians)."""
    d = np.array([side * math.sin(abduction), -math.cos(abduction), 0.0])
    cb, sb = math.cos(flexion), math.sin(flexion)
    return np.array([d[0], d[1] * cb + d[2] * sb, -d[1] * sb + d[2] * cb])


def _sample_pose(rng: np.random.Generator) -> dict:
    u = rng.uniform
    mode = rng.choice(3, p=[0.35, 0.3, 0.35])
    if mode == 0:  # standing
        arms = [(u(0.0, 0.6), u(-0.3, 0.5), u(0.0, 0.8)) for _ in range(2)]
        legs = [(u(-0.05, 0.25), u(-0.15, 0.3), u(0.0, 0.3)) for _ in range(2)]
    elif mode == 1:  # walking / running: arms and legs swing in opposition
        swing = u(0.2, 1.0)
        arms = [(u(0.05, 0.3), s * swing, u(0.2, 1.6)) for s in (1, -1)]
        legs = [(u(0.0, 0.15), -s * swing * u(0.6, 1.0), u(0.0, 1.3) if s * swing > 0 else u(0.0, 0.4))
                for s in (1, -1)]  # fmt: skip
    else:  # free: waving, reaching, kicking, crouching
        arms = [(u(0.0, 2.9), u(-0.6, 1.9), u(0.0, 2.4)) for _ in range(2)]
        legs = [(u(-0.1, 0.9), u(-0.5, 1.8), u(0.0, 2.1)) for _ in range(2)]
    return dict(
        arms=arms,
        legs=legs,
        spine_bend=float(np.clip(rng.normal(0.08, 0.15), -0.3, 0.8)),
        spine_side=float(rng.normal(0, 0.08)),
        head_yaw=float(np.clip(rng.normal(0, 0.35), -1.1, 1.1)),
        head_pitch=float(rng.normal(0, 0.15)),
        elbow_bias=[u(-0.6, 0.6), u(-0.6, 0.6)],
    )


def sample_figure(rng: np.random.Generator, w: int, h: int) -> dict:
    """A random figure: 3-D joints, projection to the image, colours."""
    pose = _sample_pose(rng)
    s = rng.uniform(0.9, 1.12, 8)
    sw, hw = 0.115 * s[0], 0.08 * s[1]
    torso_len, head_r = 0.29 * s[2], 0.062 * s[3]
    l_uarm, l_farm, l_thigh, l_shin = 0.165 * s[4], 0.145 * s[4], 0.24 * s[5], 0.235 * s[5]

    pelvis = np.zeros(3)
    up = _unit(np.array([math.sin(pose["spine_side"]), math.cos(pose["spine_bend"]), math.sin(pose["spine_bend"])]))
    neck = pelvis + torso_len * up
    lat = _unit(np.cross(up, np.array([0.0, 0.0, 1.0])))  # the figure's left (= up x forward)
    fwd = _unit(np.cross(lat, up))
    shoulders = [neck + sd * sw * lat - 0.025 * up for sd in (1, -1)]
    hips = [pelvis + sd * hw * np.array([1.0, 0.0, 0.0]) for sd in (1, -1)]

    # head frame: turned by head_yaw about the spine, pitched by head_pitch
    cy_, sy_ = math.cos(pose["head_yaw"]), math.sin(pose["head_yaw"])
    h_fwd = _unit(cy_ * fwd + sy_ * lat)
    h_lat = _unit(np.cross(up, h_fwd))
    h_up = _unit(up * math.cos(pose["head_pitch"]) + h_fwd * math.sin(pose["head_pitch"]))
    head = neck + (0.045 + head_r) * up
    face = dict(
        nose=(head + head_r * (0.97 * h_fwd - 0.15 * h_up), _unit(0.97 * h_fwd - 0.15 * h_up)),
        l_eye=(head + head_r * (0.78 * h_fwd + 0.38 * h_lat + 0.2 * h_up), _unit(0.8 * h_fwd + 0.45 * h_lat)),
        r_eye=(head + head_r * (0.78 * h_fwd - 0.38 * h_lat + 0.2 * h_up), _unit(0.8 * h_fwd - 0.45 * h_lat)),
        l_ear=(head + head_r * (0.98 * h_lat - 0.08 * h_fwd), _unit(h_lat - 0.15 * h_fwd)),
        r_ear=(head + head_r * (-0.98 * h_lat - 0.08 * h_fwd), _unit(-h_lat - 0.15 * h_fwd)),
        mouth=(head + head_r * (0.9 * h_fwd - 0.5 * h_up), _unit(0.9 * h_fwd - 0.4 * h_up)),
    )

    arms = []
    for side, (abd, flex, bend), bias, sh in zip((1, -1), pose["arms"], pose["elbow_bias"], shoulders):
        d1 = _limb_dir(side, abd, flex)
        elbow = sh + l_uarm * d1
        d2 = _unit(math.cos(bend) * d1 + math.sin(bend) * _perp(d1, np.array([-side * 0.3 + bias, 0.3, 1.0])))
        arms.append((sh, elbow, elbow + l_farm * d2))
    legs, feet = [], []
    for side, (abd, flex, bend), hp in zip((1, -1), pose["legs"], hips):
        d3 = _limb_dir(side, abd, flex)
        knee = hp + l_thigh * d3
        d4 = _unit(math.cos(bend) * d3 + math.sin(bend) * _perp(d3, np.array([0.0, 0.0, -1.0])))
        ankle = knee + l_shin * d4
        legs.append((hp, knee, ankle))
        feet.append(ankle + 0.075 * _unit(_perp(d4, np.array([side * 0.15, 0.0, 1.0]))))

    # 17 COCO keypoints in 3-D
    k3 = np.stack(
        [face["nose"][0], face["l_eye"][0], face["r_eye"][0], face["l_ear"][0], face["r_ear"][0],
         arms[0][0], arms[1][0], arms[0][1], arms[1][1], arms[0][2], arms[1][2],
         legs[0][0], legs[1][0], legs[0][1], legs[1][1], legs[0][2], legs[1][2]]
    )  # fmt: skip

    # view: yaw about the vertical axis (front / profile / back), roll in the image plane
    r = rng.random()
    if r < 0.5:
        yaw = rng.normal(0, 0.45)
    elif r < 0.75:
        yaw = rng.choice([-1, 1]) * rng.uniform(0.9, 2.2)
    else:
        yaw = math.pi + rng.normal(0, 0.45)
    roll = rng.normal(0, 0.15) if rng.random() < 0.92 else rng.uniform(-1.8, 1.8)
    cyw, syw = math.cos(yaw), math.sin(yaw)
    cr, sr = math.cos(roll), math.sin(roll)

    def project(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.atleast_2d(p)
        x = p[:, 0] * cyw + p[:, 2] * syw
        y = -p[:, 1]
        depth = p[:, 2] * cyw - p[:, 0] * syw
        return np.stack([x * cr - y * sr, x * sr + y * cr], axis=1), depth

    def depth_of(direction: np.ndarray) -> float:
        return float(direction[2] * cyw - direction[0] * syw)

    def cam_dir(direction: np.ndarray) -> np.ndarray:
        """A body-frame direction in camera space: (image x, image y, depth towards the camera)."""
        (x, y), d = project(direction)[0][0], depth_of(direction)
        return np.array([x, y, d])

    everything = np.concatenate([k3, np.stack(feet), head[None] + head_r * np.array([[0, 1.0, 0]])])
    xy, _ = project(everything)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    height_px = h * math.exp(rng.uniform(math.log(0.32), math.log(0.92)))
    extent = max(float((hi - lo).max()), 0.3)
    scale = height_px / extent
    if rng.random() < 0.85:
        cx, cy = rng.uniform(0.12, 0.88) * w, rng.uniform(0.3, 0.7) * h
    else:  # partly out of the image
        cx, cy = rng.uniform(-0.15, 1.15) * w, rng.uniform(0.1, 1.0) * h
    offset = np.array([cx, cy]) - 0.5 * (lo + hi) * scale

    def to_img(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q, d = project(p)
        return q * scale + offset, d

    skin = _SKIN[rng.integers(0, len(_SKIN))] + rng.normal(0, 8, 3)
    shirt = rng.integers(0, 256, 3).astype(np.float64)
    pants = rng.integers(0, 200, 3).astype(np.float64)
    colors = dict(
        skin=skin,
        shirt=shirt,
        sleeve=shirt if rng.random() < 0.6 else skin,
        forearm=shirt if rng.random() < 0.3 else skin,
        pants=pants,
        shin=pants if rng.random() < 0.7 else skin,
        shoes=rng.integers(0, 90, 3).astype(np.float64),
        hair=rng.integers(0, 110, 3).astype(np.float64) * rng.uniform(0.3, 1.0),
        collar=255 - shirt,
        panel=shirt * 0.35 + 255 * 0.65 if shirt.mean() < 128 else shirt * 0.4,
        stripes=rng.random() < 0.3,
    )

    kpts2d, kdepth = to_img(k3)
    return dict(
        scale=scale,
        height_px=height_px,
        colors=colors,
        kpts2d=kpts2d,
        kdepth=kdepth,
        pts2d=to_img(everything)[0],
        to_img=to_img,
        depth_of=depth_of,
        head=to_img(head),
        head_r=head_r * scale,
        head_axes=(cam_dir(h_fwd), cam_dir(h_up)),
        face={k: (to_img(p), depth_of(n)) for k, (p, n) in face.items()},
        neck=to_img(neck),
        torso3d=(shoulders, hips, fwd, sw, hw),
        arms=[to_img(np.stack(a)) for a in arms],
        legs=[to_img(np.stack(lg)) for lg in legs],
        feet=[to_img(f) for f in feet],
        chest_facing=depth_of(fwd),
        front_panel=to_img(
            np.stack(
                [
                    neck - 0.03 * up + 0.035 * lat + 0.057 * fwd,
                    neck - 0.03 * up - 0.035 * lat + 0.057 * fwd,
                    pelvis + 0.03 * up - 0.03 * lat + 0.052 * fwd,
                    pelvis + 0.03 * up + 0.03 * lat + 0.052 * fwd,
                ]
            )
        )[0],
        buckle=to_img(
            np.stack(
                [
                    pelvis + d1 * 0.022 * lat + d2 * 0.014 * up + 0.06 * fwd
                    for d1, d2 in ((1, 1), (-1, 1), (-1, -1), (1, -1))
                ]
            )
        )[0],
        limb_r=dict(uarm=0.034 * scale, farm=0.028 * scale, thigh=0.05 * scale, shin=0.038 * scale),
    )


# ----------------------------------------------------------------------------------------------------------------------
# labels


def keypoint_labels(fig: dict, owner: np.ndarray, p: int, w: int, h: int) -> np.ndarray:
    """(17, 3) COCO keypoints [x, y, v] of figure ``p`` after everything is drawn."""
    xy = fig["kpts2d"]
    out = np.zeros((17, 3), dtype=np.float64)
    face_nz = [fig["face"][k][1] for k in ("nose", "l_eye", "r_eye", "l_ear", "r_ear")]
    # thresholds on how far a face point is turned away (normal's depth): unlabelled / hidden
    face_thr = [(-0.2, 0.1), (-0.3, 0.1), (-0.3, 0.1), (-0.55, -0.2), (-0.55, -0.2)]
    for k in range(17):
        x, y = float(xy[k, 0]), float(xy[k, 1])
        if not (0 <= x < w and 0 <= y < h):
            continue  # outside the image: unlabelled
        v = 2
        if k < 5:
            nz = face_nz[k]
            lo, hi = face_thr[k]
            if nz < lo:
                continue  # on the back of the head: unlabelled
            if nz < hi:
                v = 1
        if v == 2:
            xi, yi = int(round(x)), int(round(y))
            win = owner[max(yi - 1, 0) : yi + 2, max(xi - 1, 0) : xi + 2]
            mine = (win // NPART == p) & (win >= 0) & (win < OCCLUDER)
            if not np.isin(win[mine] % NPART, list(_KPT_PARTS[k])).any():
                v = 1  # covered by another figure, an occluder or the figure's own nearer parts
        out[k] = (x, y, v)
    return out
